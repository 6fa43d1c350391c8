"""bp_dataset.stats: streaming statistics equal numpy's on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from bp_dataset.stats import (
    QUANTILE_KEYS,
    QUANTILES,
    STAT_KEYS,
    ImageStats,
    RunningStats,
    episode_stats,
)
from bp_export.frames import HIST_BATCH, image_histogram


def test_running_stats_match_numpy_across_growing_ranges() -> None:
    """Batches whose range keeps growing: min/max exact, mean/std to rounding, quantiles within a bin."""
    rng = np.random.default_rng(0)
    offset = np.array([0.0, 5.0, -5.0])
    batches = [rng.normal(0, 0.01 * 4**k, size=(300, 3)) + offset for k in range(6)]
    batches.append(np.full((50, 3), 7.0))
    rs = RunningStats(3)
    for b in batches:
        rs.update(b.astype(np.float32))
    data = np.concatenate(batches).astype(np.float32).astype(np.float64)
    out = rs.result()
    assert list(out) == list(STAT_KEYS)
    np.testing.assert_array_equal(out["min"], data.min(axis=0))
    np.testing.assert_array_equal(out["max"], data.max(axis=0))
    np.testing.assert_allclose(out["mean"], data.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["std"], data.std(axis=0), rtol=1e-9)
    assert out["count"] == [len(data)]
    span = data.max(axis=0) - data.min(axis=0)
    for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
        # the histogram's bin that holds the ceil(q n)-th value: within one bin width of it
        # (the range doubles, so a bin is at most 4 * span / BINS wide)
        want = np.quantile(data, q, axis=0, method="inverted_cdf")
        assert (np.abs(np.array(out[key]) - want) <= span * 4 / 2048).all(), (key, out[key], want)


def test_constant_and_bool_features() -> None:
    """A constant feature has zero spread; bool and int features keep their type in min/max."""
    rs = RunningStats(1, kind="b")
    rs.update(np.array([False, False, True, False]))
    out = rs.result()
    assert out["min"] == [False] and out["max"] == [True]
    assert out["mean"] == [0.25]
    c = RunningStats(2, kind="i")
    c.update(np.full((10, 2), 3, dtype=np.int64))
    res = c.result()
    assert res["min"] == [3, 3] and res["std"] == [0.0, 0.0] and res["q50"] == pytest.approx([3, 3])
    ep = episode_stats(np.arange(10, dtype=np.int64))
    assert ep["min"] == [0] and isinstance(ep["min"][0], int) and ep["q50"] == [4.5]


def test_non_finite_values_are_refused() -> None:
    """NaN or infinity never enters the statistics."""
    rs = RunningStats(2)
    with pytest.raises(ValueError, match="non-finite"):
        rs.update(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="non-finite"):
        rs.update(np.array([[np.inf, 0.0]]))


def test_image_stats_are_exact() -> None:
    """Per-channel image statistics from histograms equal numpy's on the pixels, scaled to [0, 1]."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, 200, size=(5, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(50, 256, size=(7, 16, 16, 3), dtype=np.uint8)
    st = ImageStats()
    st.update(a)
    other = ImageStats()
    other.update(b)
    st.merge(ImageStats.from_json(other.to_json()))
    out = st.result()
    px = np.concatenate([a, b]).reshape(-1, 3).astype(np.float64)
    assert out["count"] == [12]
    assert np.array(out["mean"]).shape == (3, 1, 1)
    np.testing.assert_allclose(np.array(out["mean"]).ravel(), px.mean(axis=0) / 255, rtol=1e-12)
    np.testing.assert_allclose(np.array(out["std"]).ravel(), px.std(axis=0) / 255, rtol=1e-9)
    np.testing.assert_array_equal(np.array(out["min"]).ravel(), px.min(axis=0) / 255)
    for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
        want = np.quantile(px, q, axis=0, method="inverted_cdf") / 255
        np.testing.assert_array_equal(np.array(out[key]).ravel(), want)


def test_image_histogram_counts_like_bincount() -> None:
    """Pillow's channel counts equal np.bincount's, and give ImageStats.update's result."""
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, size=(HIST_BATCH + 9, 12, 20, 3), dtype=np.uint8)
    counts = image_histogram(frames)
    px = frames.reshape(-1, 3)
    want = np.stack([np.bincount(px[:, c], minlength=256) for c in range(3)])
    np.testing.assert_array_equal(counts, want)
    direct, counted = ImageStats(), ImageStats()
    direct.update(frames)
    counted.add_counts(counts, len(frames))
    assert counted.result() == direct.result()
    with pytest.raises(ValueError, match="uint8"):
        image_histogram(frames.astype(np.int16))
