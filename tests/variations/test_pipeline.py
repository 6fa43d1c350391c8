"""End to end: ingest → simready → assemble → variations on every example, and MuJoCo's view of the variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimreadyManifest
from bp_contracts.variation import Variant
from bp_sdk.commit import CommittedUnit, require_committed
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, job_env, put_scene
from tests.ingest._support import ingest
from tests.variations._support import Outcome, run_variations

simready_stage = pytest.importorskip(
    "bp_simready.stage", reason="the simready stage is not written yet"
)
assemble_stage = pytest.importorskip(
    "bp_assemble.stage", reason="the assemble stage is not written yet"
)

PENETRATION_LIMIT_M = 0.001
COMPOSED_SCENES = ("cluttered_tabletop", "kitchen_counter")
# the whole chain again under r2 for one scene (every scene is checked under two run ids
# on published upstream outputs in test_examples; assemble takes seconds per scene)
SECOND_RUN_SCENES = ("kitchen_counter",)


@dataclass
class Chain:
    """One example through the real stages under r1 (and under r2 for SECOND_RUN_SCENES)."""

    storage: Storage
    first: Outcome
    second: Outcome | None

    def simready(self) -> CommittedUnit:
        """The committed simready unit of r1."""
        return require_committed(self.storage, self.first.scene, "r1", "simready")


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Chain]:
    """Every example through ingest, simready, assemble and variations."""
    storage = open_storage(tmp_path_factory.mktemp("variations_pipeline").as_uri())
    out = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        runs = []
        for run in ("r1", "r2") if scene in SECOND_RUN_SCENES else ("r1",):
            env = job_env(storage, scene, run)
            assert ingest(storage, scene, run).code == 0
            assert run_stage(simready_stage.SimreadyStage(), env) == 0
            assert run_stage(assemble_stage.AssembleStage(), env) == 0
            runs.append(run_variations(storage, scene, run))
        out[scene] = Chain(storage, runs[0], runs[1] if len(runs) > 1 else None)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_every_example_goes_through_the_real_chain(scene: str, chains: dict[str, Chain]) -> None:
    """Variations commits 8 schema-valid variants on the real upstream outputs (identical under another run id)."""
    chain = chains[scene]
    assert chain.first.code == 0, chain.first.failure_text()
    variants = chain.first.variants()
    assert len(variants) == 8 and variants[0].nominal
    sim = chain.simready().read_model("simready_manifest.json", SimreadyManifest)
    assert [p.id for p in variants[0].poses] == [o.id for o in sim.objects if not o.static]
    if chain.second is not None:
        assert chain.second.code == 0 and chain.first.files() == chain.second.files()


def _root_names(model: Any) -> list[str]:
    import mujoco

    return [
        mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.body_rootid[b])) or ""
        for b in range(model.nbody)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("scene", COMPOSED_SCENES)
def test_composed_variants_start_without_penetration(scene: str, chains: dict[str, Chain]) -> None:
    """Each variant composed with bp_sim.compose: at t=0 no contact of a movable object (with anything) is deeper than 1 mm."""
    compose = pytest.importorskip("bp_sim.compose", reason="bp_sim.compose is not written yet")
    chain = chains[scene]
    unit = chain.simready()
    sim = unit.read_model("simready_manifest.json", SimreadyManifest)
    asm = require_committed(chain.storage, scene, "r1", "assemble").read_model(
        "assembly.json", Assembly
    )
    variants = chain.first.variants()
    for v in variants:
        model, data = _start(compose, sim, asm, v, unit)
        deep = _deep_pairs(model, data, {p.id for p in v.poses} | {d.id for d in v.distractors})
        assert not deep, f"{v.variant_id}: penetrating pairs {deep}"
        _check_variant_in_model(v, model, data)
    # control: the same check catches two objects put in the same place
    v = variants[1]
    a, b = v.poses[0], v.poses[1]
    clash = v.model_copy(
        update={
            "poses": [
                a,
                b.model_copy(
                    update={"position_m": (a.position_m[0], a.position_m[1], b.position_m[2])}
                ),
                *v.poses[2:],
            ]
        }
    )
    model, data = _start(compose, sim, asm, clash, unit)
    assert (min(a.id, b.id), max(a.id, b.id)) in _deep_pairs(model, data, {p.id for p in v.poses})


def _start(
    compose: Any, sim: SimreadyManifest, asm: Assembly, v: Variant, unit: CommittedUnit
) -> tuple[Any, Any]:
    """The composed variant's model and its data at the home keyframe, forward kinematics done."""
    import mujoco

    spec = compose.compose_scene(
        sim,
        asm.robot,
        asm.cameras,
        asm.lights,
        v,
        timestep=asm.timestep_s,
        mesh_loader=unit.read_bytes,
    )
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(compose.HOME_KEY).id)
    mujoco.mj_forward(model, data)
    return model, data


def _deep_pairs(model: Any, data: Any, movable: set[str]) -> dict[tuple[str, str], float]:
    """Pairs (one of them movable) whose deepest contact penetrates more than the limit."""
    roots = _root_names(model)
    worst: dict[tuple[str, str], float] = {}
    for i in range(data.ncon):
        c = data.contact[i]
        a, b = roots[model.geom_bodyid[c.geom1]], roots[model.geom_bodyid[c.geom2]]
        if (a in movable or b in movable) and a != b:
            key = (min(a, b), max(a, b))
            worst[key] = min(worst.get(key, 0.0), float(c.dist))
    return {k: d for k, d in worst.items() if d < -PENETRATION_LIMIT_M}


def _check_variant_in_model(v: Variant, model: Any, data: Any) -> None:
    """The composed model starts each movable object where the variant says."""
    import mujoco

    for p in v.poses:
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, p.id)
        assert list(data.xpos[bid]) == pytest.approx(list(p.position_m), abs=1e-9)
