"""The MuJoCo Warp backend (``EPISODES_BACKEND=warp``): N worlds of one model stepped and
ray-traced together on a GPU (or, slowly, the CPU).

Importing this package imports nothing heavy: :mod:`.runtime` checks the optional
``bp-episodes[warp]`` extra and opens the Warp device; :mod:`.batch` (which imports Warp and
MuJoCo Warp) holds :class:`~bp_episodes.warp_backend.batch.WarpBatch`.
"""
