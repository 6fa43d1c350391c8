"""``SimBatch`` on MuJoCo Warp: N worlds of one compiled model, stepped and ray-traced together.

* physics: ``mujoco_warp.step`` over every world; on a GPU the ``substeps`` steps of one
  control period are captured once as a CUDA graph and replayed, on the CPU they are plain
  launches;
* rendering: MuJoCo Warp's batched ray tracer, every camera of every world in one launch
  per state (refit of the scene BVH, then render), cached until the next step or reset, so
  asking for several cameras and kinds of one frame renders once; images leave the device
  already in ``SimBatch``'s dtypes (:mod:`.kernels`);
* state reads (``qpos``, poses, contacts) copy each whole per-world field to the host once
  per state and serve every later read of that state from the copy;
* :meth:`WarpBatch.reset_worlds` restarts a subset of worlds (a world whose episode ended
  takes the next work item) and leaves the others' state untouched.

Physics runs in float32 (MuJoCo: float64), so trajectories agree with :class:`MujocoBatch`
closely but not bit for bit; images come from a ray tracer, not OpenGL (measured
differences in docs/EPISODES_WARP.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mujoco
import mujoco_warp as mjw
import numpy as np
import warp as wp
from bp_contracts.episode import DEPTH_BACKGROUND_M
from bp_sdk.errors import ConfigError, Problem
from numpy.typing import NDArray

from bp_episodes.backend import F64, FAR_FRACTION, Contact
from bp_episodes.warp_backend import kernels
from bp_episodes.warp_backend.runtime import open_device

KINDS = ("rgb", "depth", "seg")
# capacity overflows that make the physics wrong, and the setting that fixes each
FATAL_OVERFLOWS = {
    int(mjw.OverflowType.NEFC): "EPISODES_WARP_NJMAX",
    int(mjw.OverflowType.NJMAX_NNZ): "EPISODES_WARP_NJMAX",
    int(mjw.OverflowType.BROADPHASE): "EPISODES_WARP_NCONMAX",
    int(mjw.OverflowType.NARROWPHASE): "EPISODES_WARP_NCONMAX",
    int(mjw.OverflowType.CCD): "EPISODES_WARP_NCONMAX",
}
CONSTRAINT_CONTACT = 1  # mujoco_warp ContactType.CONSTRAINT: a contact the solver sees


class WarpCapacityError(ConfigError):
    """A world needed more contacts or constraint rows than were allocated (exit 2)."""


@dataclass(frozen=True)
class WarpOptions:
    """How a :class:`WarpBatch` runs: device, kernel cache, per-world capacities, renderer."""

    device: str = "cuda:0"
    kernel_cache: str | None = None  # None: Warp's default (~/.cache/warp)
    nconmax: int = 96  # contacts per world (33 at rest on kitchen_counter)
    njmax: int = 384  # constraint rows per world (137 at rest on kitchen_counter)
    kinds: tuple[str, ...] = KINDS  # image kinds the renderer produces
    shadows: bool = False
    deterministic: bool = True  # stable contact order and reductions: same inputs, same bits
    graphs: bool | None = None  # CUDA graphs for the substeps; None: on a GPU only


class WarpBatch:
    """MuJoCo Warp: ``num_worlds`` worlds on one Warp device; see the module docstring."""

    def __init__(
        self, model: Any, num_worlds: int, resolution: int, options: WarpOptions | None = None
    ) -> None:
        opts = options or WarpOptions()
        bad = sorted(set(opts.kinds) - set(KINDS))
        if bad or num_worlds < 1:
            raise ValueError(f"kinds must be among {KINDS} (got {bad}); num_worlds >= 1")
        self.model = model
        self.options = opts
        self.device = open_device(opts.device, opts.kernel_cache)
        self.resolution = resolution
        self._n = num_worlds
        self._graphs_on = self.device.is_cuda if opts.graphs is None else opts.graphs
        self._graphs: dict[int, Any] = {}
        self._version = 0  # bumped by every step and reset: host copies and renders follow it
        self._host: dict[str, NDArray[Any]] = {}
        self._host_version = -1
        self._rendered = -1
        self._contacts: tuple[Any, Any, Any, Any] | None = None
        extent = float(model.stat.extent)
        self._near = float(model.vis.map.znear) * extent
        self._far = float(model.vis.map.zfar) * extent
        self._scratch = mujoco.MjData(model)  # ray_down's world, on the host
        with wp.ScopedDevice(self.device):
            self._m = mjw.put_model(model)
            self._m.opt.warn_overflow = 0  # no device printf: overflows raise here instead
            self._m.opt.deterministic = int(
                mjw.DeterminismType.ALL if opts.deterministic else mjw.DeterminismType.NONE
            )
            self._d = mjw.make_data(
                model, nworld=num_worlds, nconmax=opts.nconmax, njmax=opts.njmax
            )
            self._rc = self._render_context(model, num_worlds, resolution) if opts.kinds else None
            # compile (or load from the cache) every kernel now, not inside a capture or an
            # episode: one step from qpos0, then back to qpos0
            mjw.forward(self._m, self._d)
            mjw.step(self._m, self._d)
            # masked, as reset_worlds resets: the same kernels
            mjw.reset_data(self._m, self._d, reset=wp.array(np.ones(num_worlds, dtype=bool)))
            mjw.forward(self._m, self._d)
            if self._rc is not None:
                self._render_all()
        self._version += 1

    def _render_context(self, model: Any, n: int, res: int) -> Any:
        kinds = self.options.kinds
        rc = mjw.create_render_context(
            model,
            nworld=n,
            cam_res=(res, res),
            render_rgb="rgb" in kinds,
            render_depth="depth" in kinds,
            render_seg="seg" in kinds,
            use_shadows=self.options.shadows,
            render_skybox=False,  # as MujocoBatch: no skybox, no reflections
        )
        self._cam_index = {
            model.camera(int(c)).name: i for i, c in enumerate(rc.cam_id_map.numpy())
        }
        self._adr = {
            "rgb": rc.rgb_adr.numpy(),
            "depth": rc.depth_adr.numpy(),
            "seg": rc.seg_adr.numpy(),
        }
        shapes = {"rgb": ((n, res, res, 3), wp.uint8), "depth": ((n, res, res), wp.float32)}
        shapes["seg"] = ((n, res, res), wp.int32)
        self._images: dict[str, Any] = {
            k: wp.zeros(shape, dtype=dtype) for k, (shape, dtype) in shapes.items() if k in kinds
        }
        return rc

    # ------------------------------------------------------------------ SimBatch
    @property
    def num_worlds(self) -> int:
        """How many worlds."""
        return self._n

    def depth_range_m(self) -> tuple[float, float]:
        """Near and far planes (m): MuJoCo's ``znear``/``zfar`` times the model extent."""
        return self._near, self._far

    def close(self) -> None:
        """Drop the device buffers (freed when nothing else holds them)."""
        self._graphs.clear()
        self._host.clear()
        self._rc = None

    def reset(self, qpos: list[F64]) -> None:
        """Start every world from the given full qpos (zero velocities)."""
        self.reset_worlds(range(self._n), qpos)

    def reset_worlds(self, worlds: Sequence[int], qpos: Sequence[F64]) -> None:
        """Restart only ``worlds`` (each from its qpos, zero velocities, time 0); every other
        world keeps its state exactly."""
        ids = [int(w) for w in worlds]
        if len(ids) != len(qpos) or len(set(ids)) != len(ids):
            raise ValueError(f"{len(ids)} distinct worlds need as many qpos (got {len(qpos)})")
        if any(not 0 <= w < self._n for w in ids):
            raise ValueError(f"worlds must lie in [0, {self._n}): {ids}")
        mask = np.zeros(self._n, dtype=bool)
        mask[ids] = True
        with wp.ScopedDevice(self.device):
            mjw.reset_data(self._m, self._d, reset=wp.array(mask, dtype=bool))
            host = self._d.qpos.numpy()
            host[ids] = np.asarray(np.stack(qpos), dtype=np.float32).reshape(len(ids), -1)
            self._d.qpos.assign(host)  # the other rows go back bit for bit
            # derived quantities (poses, contacts) of every world; no world's state changes
            mjw.forward(self._m, self._d)
        self._version += 1

    def step(self, ctrl: F64, substeps: int) -> None:
        """Apply ``ctrl`` (N × nu) and advance every world ``substeps`` physics steps."""
        c = np.asarray(ctrl, dtype=np.float32)
        if c.shape != (self._n, self.model.nu) or substeps < 1:
            raise ValueError(f"ctrl must be {self._n} x {self.model.nu}, substeps >= 1")
        with wp.ScopedDevice(self.device):
            self._d.ctrl.assign(c)
            if not self._graphs_on:
                for _ in range(substeps):
                    mjw.step(self._m, self._d)
            else:
                graph = self._graphs.get(substeps)
                if graph is None:
                    with wp.ScopedCapture() as capture:
                        for _ in range(substeps):
                            mjw.step(self._m, self._d)
                    graph = self._graphs[substeps] = capture.graph
                wp.capture_launch(graph)
            # the next state read would wait for it anyway: waiting here puts the GPU's time
            # under "physics" in the stage's clock instead of whatever reads next
            wp.synchronize_device(self.device)
        self._version += 1

    def qpos(self) -> F64:
        """N × nq."""
        return self._field("qpos").astype(np.float64)

    def qvel(self) -> F64:
        """N × nv."""
        return self._field("qvel").astype(np.float64)

    def body_pose(self, body: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 4 quaternions (w, x, y, z) of one body."""
        return (
            self._field("xpos")[:, body].astype(np.float64),
            self._field("xquat")[:, body].astype(np.float64),
        )

    def site_pose(self, site: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 3 × 3 rotations of one site."""
        return (
            self._field("site_xpos")[:, site].astype(np.float64),
            self._field("site_xmat")[:, site].reshape(self._n, 3, 3).astype(np.float64),
        )

    def camera_pose(self, camera: int) -> tuple[F64, F64]:
        """N × 3 positions and N × 3 × 3 rotations of one camera."""
        return (
            self._field("cam_xpos")[:, camera].astype(np.float64),
            self._field("cam_xmat")[:, camera].reshape(self._n, 3, 3).astype(np.float64),
        )

    def contacts(self, world: int) -> list[Contact]:
        """Active contacts of one world (every world's are fetched once per state)."""
        w, g1, g2, dist = self.contact_arrays()
        lo, hi = np.searchsorted(w, [world, world + 1])
        return [Contact(int(g1[i]), int(g2[i]), float(dist[i])) for i in range(int(lo), int(hi))]

    def contact_arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], F64]:
        """Every world's active contacts as flat arrays (world, geom1, geom2, dist), sorted
        by world (the batched runner reads these instead of N ``contacts`` calls)."""
        if self._contacts is None or self._host_version != self._version:
            self._field("qpos")  # a new state: refresh the copies, check capacities
            self._contacts = self._fetch_contacts()
        return self._contacts

    def ray_down(
        self, world: int, x: float, y: float, z_from: float, exclude_body: int
    ) -> float | None:
        """Height of the first surface below (x, y, z_from), ignoring one body; None if
        nothing. One ray per episode: MuJoCo's ``mj_ray`` on this world's positions, the
        same answer as :class:`MujocoBatch` without compiling a ray kernel."""
        d = self._scratch
        d.qpos[:] = self.qpos()[world]
        if self.model.nmocap:
            d.mocap_pos[:] = self._field("mocap_pos")[world]
            d.mocap_quat[:] = self._field("mocap_quat")[world]
        mujoco.mj_kinematics(self.model, d)
        geom = np.zeros(1, dtype=np.int32)
        dist = mujoco.mj_ray(
            self.model,
            d,
            np.array([x, y, z_from]),
            np.array([0.0, 0.0, -1.0]),
            None,
            1,
            exclude_body,
            geom,
        )
        return None if dist < 0 else z_from - float(dist)

    def render(self, camera: str, kind: str) -> NDArray[Any]:
        """N images from ``camera``: rgb (N×H×W×3 uint8), depth (N×H×W float32, metres
        along the optical axis, ``DEPTH_BACKGROUND_M`` where nothing lies nearer than the
        far plane), seg (N×H×W int32 geom id, -1 background)."""
        if self._rc is None or kind not in self.options.kinds:
            raise ValueError(f"{kind!r} images were not enabled (kinds: {self.options.kinds})")
        index = self._cam_index.get(camera)
        if index is None:
            raise ValueError(f"unknown camera {camera!r}; cameras: {sorted(self._cam_index)}")
        if self._rendered != self._version:
            self._field("qpos")  # capacities checked before rendering a broken state
            with wp.ScopedDevice(self.device):
                self._render_all()
            self._rendered = self._version
        rc, out, res = self._rc, self._images[kind], self.resolution
        adr = int(self._adr[kind][index])
        with wp.ScopedDevice(self.device):
            if kind == "rgb":
                wp.launch(kernels.unpack_rgb, (self._n, res * res), [rc.rgb_data, adr, res, out])
            elif kind == "depth":
                far = self._far * FAR_FRACTION
                inputs = [rc.depth_data, adr, res, far, DEPTH_BACKGROUND_M, out]
                wp.launch(kernels.extract_depth, (self._n, res * res), inputs)
            else:
                geom = int(mujoco.mjtObj.mjOBJ_GEOM)
                wp.launch(
                    kernels.extract_seg, (self._n, res * res), [rc.seg_data, adr, res, geom, out]
                )
            return self._to_host(out)

    # ------------------------------------------------------------------ internals
    def _render_all(self) -> None:
        """Every camera and enabled kind of every world, for the current state."""
        mjw.refit_bvh(self._m, self._d, self._rc)
        mjw.render(self._m, self._d, self._rc)

    def _field(self, name: str) -> NDArray[Any]:
        """A per-world field of the current state on the host (one copy per state)."""
        if self._host_version != self._version:
            self._host.clear()
            self._contacts = None
            self._host_version = self._version
            self._check_capacity()
        arr = self._host.get(name)
        if arr is None:
            arr = self._host[name] = self._to_host(getattr(self._d, name))
        return arr

    def _to_host(self, array: Any) -> NDArray[Any]:
        """A host copy of a device array (on the CPU ``numpy()`` is a view of live memory)."""
        out = np.asarray(array.numpy())
        return out if self.device.is_cuda else out.copy()

    def _check_capacity(self) -> None:
        flags = np.bitwise_or.reduce(self._d.overflow.numpy())
        hit = {setting for bit, setting in FATAL_OVERFLOWS.items() if int(flags) & bit}
        if hit:
            worst = int(self._d.nefc.numpy().max())
            per_world = int(self._d.nacon.numpy()[0]) / self._n
            msg = (
                f"a world outgrew its MuJoCo Warp buffers (contacts per world ~{per_world:.0f} of "
                f"{self.options.nconmax}, constraint rows up to {worst} of {self.options.njmax})"
            )
            raise WarpCapacityError(
                msg,
                problems=[Problem(s, msg, "raise it (memory grows with it)") for s in sorted(hit)],
            )

    def _fetch_contacts(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], F64]:
        n = min(int(self._d.nacon.numpy()[0]), self._d.naconmax)
        if n == 0:
            none = np.zeros(0, dtype=np.int64)
            return none, none, none, np.zeros(0)
        c = self._d.contact
        world = c.worldid[:n].numpy().astype(np.int64)
        geom = c.geom[:n].numpy().reshape(n, 2).astype(np.int64)
        dist = c.dist[:n].numpy().astype(np.float64)
        keep = np.flatnonzero((c.type[:n].numpy() & CONSTRAINT_CONTACT) != 0)
        keep = keep[np.argsort(world[keep], kind="stable")]  # by world, detection order kept
        return world[keep], geom[keep, 0], geom[keep, 1], dist[keep]
