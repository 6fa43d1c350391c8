"""Per-world resets and determinism of WarpBatch: restarting some worlds leaves the others'
state bit for bit as it would have been; the same worlds, starts and controls give the same
bits and images twice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.episodes_warp.conftest import SUBSTEPS, controls

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_reset_of_some_worlds_leaves_the_others_untouched(scene, make_warp) -> None:
    """World 1 restarts mid-run: it holds its new start exactly (zero velocity), and worlds 0
    and 2 end bit-identical to a run without the restart."""
    starts = scene.starts[:3]
    ctrls = controls(scene, 3, 6, seed=5)
    a, b = make_warp(3), make_warp(3)
    a.reset(starts)
    b.reset(starts)
    for k, ctrl in enumerate(ctrls):
        if k == 3:
            a.reset_worlds([1], [scene.starts[3]])
            q, v = a.qpos(), a.qvel()
            np.testing.assert_array_equal(q[1], scene.starts[3].astype(np.float32))
            assert not v[1].any()
            np.testing.assert_array_equal(q[[0, 2]], b.qpos()[[0, 2]])
            np.testing.assert_array_equal(v[[0, 2]], b.qvel()[[0, 2]])
        a.step(ctrl, SUBSTEPS)
        b.step(ctrl, SUBSTEPS)
    np.testing.assert_array_equal(a.qpos()[[0, 2]], b.qpos()[[0, 2]])
    np.testing.assert_array_equal(a.qvel()[[0, 2]], b.qvel()[[0, 2]])
    assert np.abs(a.qpos()[1] - b.qpos()[1]).max() > 1e-3  # world 1 did restart
    with pytest.raises(ValueError, match="distinct worlds"):
        a.reset_worlds([0, 0], [scene.starts[0], scene.starts[1]])
    with pytest.raises(ValueError, match="must lie in"):
        a.reset_worlds([3], [scene.starts[0]])


def test_same_inputs_same_bits_and_images(scene, make_warp) -> None:
    """Two batches of 2 worlds from the same seeded starts and controls: identical qpos,
    qvel and contacts after 3 frames, identical rgb/depth/seg images."""
    runs = []
    for _ in range(2):
        batch = make_warp(2, ("rgb", "depth", "seg"))
        batch.reset(scene.starts[:2])
        for ctrl in controls(scene, 2, 3, seed=11):
            batch.step(ctrl, SUBSTEPS)
        cam = scene.h.cameras[0].name
        images = [batch.render(cam, kind) for kind in ("rgb", "depth", "seg")]
        runs.append((batch.qpos(), batch.qvel(), batch.contact_arrays(), images))
    (q1, v1, c1, i1), (q2, v2, c2, i2) = runs
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(v1, v2)
    for x, y in zip(c1, c2, strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(i1, i2, strict=True):
        np.testing.assert_array_equal(x, y)
