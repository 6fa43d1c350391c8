"""Initial states and plans made ahead: a background thread samples the queued work items'
initial states and plans them (:class:`~bp_episodes.batched.planning.Planner`) in chunks,
while the worlds step, so a world whose episode ends takes a ready plan instead of waiting
for one.

Planning is CPU work of the host (batched IK and MuJoCo collision checks) and the GPU's
worlds wait on it when it runs between control steps: at 4,096 worlds about 16 episodes end
every step, and planning them one round per step would cost more than the step itself. Ahead
of the worlds, it overlaps the steps (the main thread mostly waits on the GPU then, without
the GIL). A plan depends on its own item only, so the recording does not depend on when or
with which others an item was planned; only which world runs it may change.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from bp_episodes.worklist import EpisodePlan

Made = tuple[EpisodePlan, Any, Any]  # the item, its InitialState, its Follower or exception


class PlanAhead:
    """Makes ``make(chunk)`` for the items of ``items`` on a thread, at most ``limit`` ready."""

    def __init__(
        self,
        make: Callable[[list[EpisodePlan]], list[Made]],
        items: deque[EpisodePlan],
        chunk: int,
        limit: int,
    ) -> None:
        self._make, self._items = make, items
        self._chunk, self._limit = max(chunk, 1), max(limit, chunk, 1)
        self._ready: deque[Made] = deque()
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._done = self._stop = False
        self._thread = threading.Thread(target=self._work, name="bp-plan-ahead", daemon=True)
        self._thread.start()

    def take(self, k: int, wait: bool) -> list[Made]:
        """Up to ``k`` ready items in queue order; with ``wait``, at least one unless none is
        left. A failure of the planning thread is raised here."""
        with self._cond:
            if wait:
                self._cond.wait_for(lambda: bool(self._ready) or self._done)
            if self._error is not None:
                raise self._error
            out = [self._ready.popleft() for _ in range(min(k, len(self._ready)))]
            self._cond.notify_all()
            return out

    def exhausted(self) -> bool:
        """Whether every item was made and taken."""
        with self._cond:
            return self._done and not self._ready and self._error is None

    def close(self) -> None:
        """Stop making items (the current chunk finishes)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()

    def _work(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._stop or len(self._ready) < self._limit)
                    if self._stop or not self._items:
                        return
                    take = [
                        self._items.popleft() for _ in range(min(self._chunk, len(self._items)))
                    ]
                made = self._make(take)
                with self._cond:
                    self._ready.extend(made)
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - raised to the runner by take()
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()
