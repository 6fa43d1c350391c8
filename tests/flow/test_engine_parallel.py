"""Parallel branches and iterations: shared variables, scoping, the continueAll exception
policy, concurrency_limit and nesting."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from bp_flow.errors import LoadError, WorkflowError
from bp_flow.runtime import Runtime

from tests.flow.engine_helpers import error_of, load, run


def test_shared_assignments_are_atomic() -> None:
    """60 iterations each adding to a shared counter lose no update."""
    result = run(
        """
        - init:
            assign:
              - total: 0
        - p:
            parallel:
              shared: [total]
              for:
                value: v
                range: [1, 60]
                steps:
                  - add:
                      assign:
                        - total: ${total + v}
        - r:
            return: ${total}
        """
    )
    assert result == sum(range(1, 61))


def test_branch_variables_do_not_leak_and_branches_read_parents() -> None:
    """A branch reads its parent's variables; what it creates stays in the branch."""
    result = run(
        """
        - init:
            assign:
              - base: 10
              - out: {}
        - p:
            parallel:
              shared: [out]
              branches:
                - left:
                    steps:
                      - a:
                          assign:
                            - mine: ${base + 1}
                            - out.left: ${mine}
                - right:
                    steps:
                      - b:
                          assign:
                            - mine: ${base + 2}
                            - out.right: ${mine}
        - r:
            return: ${out}
        """
    )
    assert result == {"left": 11, "right": 12}


def test_writing_an_unshared_parent_variable_is_refused_at_load() -> None:
    """A branch assigning a parent variable not listed in shared fails to load, with the line."""
    with pytest.raises(LoadError) as err:
        load(
            """
            - init:
                assign:
                  - total: 0
            - p:
                parallel:
                  branches:
                    - a:
                        steps:
                          - s:
                              assign:
                                - total: 1
                    - b:
                        steps:
                          - t:
                              assign:
                                - other: 2
            """
        )
    text = str(err.value)
    assert "shared" in text and "'total'" in text and "test.yaml:10" in text


def test_continue_all_then_unhandled_branch_error() -> None:
    """A failing branch does not stop the others; afterwards UnhandledBranchError lists it."""
    text = """
    - init:
        assign:
          - done: []
    - p:
        parallel:
          shared: [done]
          for:
            value: v
            in: [1, 2, 3, 4]
            steps:
              - odd:
                  switch:
                    - condition: ${v % 2 == 1}
                      raise: ${"odd " + string(v)}
              - keep:
                  assign:
                    - done: ${list.concat(done, v)}
    """
    err = error_of(text)
    assert "UnhandledBranchError" in err["tags"]
    assert sorted(b["error"] for b in err["branches"]) == ["odd 1", "odd 3"]
    assert sorted(b["id"] for b in err["branches"]) == ["0", "2"]


def test_other_branches_finish_when_one_fails() -> None:
    """With continueAll the successful iterations complete (their effects are visible)."""
    result = run(
        """
        - init:
            assign:
              - done: []
        - t:
            try:
              steps:
                - p:
                    parallel:
                      shared: [done]
                      for:
                        value: v
                        in: [1, 2, 3, 4]
                        steps:
                          - odd:
                              switch:
                                - condition: ${v == 1}
                                  raise: "one"
                          - keep:
                              assign:
                                - done: ${list.concat(done, v)}
            except:
              as: e
              steps:
                - r:
                    return: { "done": "${done}", "tags": "${e.tags}" }
        """
    )
    assert sorted(result["done"]) == [2, 3, 4] and result["tags"] == ["UnhandledBranchError"]


def test_concurrency_limit_is_respected() -> None:
    """No more than concurrency_limit iterations run at once."""
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def busy(rt: Runtime, args: dict[str, Any]) -> Any:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return None

    run(
        """
        - p:
            parallel:
              concurrency_limit: 3
              for:
                value: v
                range: [1, 12]
                steps:
                  - c:
                      call: test.busy
        """,
        connectors={"test.busy": busy},
    )
    assert 1 <= state["peak"] <= 3


def test_parallel_nesting_is_limited() -> None:
    """Parallel steps nested three deep raise ParallelNestingError (inside the branch errors)."""
    err = error_of(
        """
        main:
          steps:
            - p1:
                parallel:
                  for:
                    value: a
                    in: [1]
                    steps:
                      - c:
                          call: level2
        level2:
          steps:
            - p2:
                parallel:
                  for:
                    value: b
                    in: [1]
                    steps:
                      - c:
                          call: level3
        level3:
          steps:
            - p3:
                parallel:
                  for:
                    value: c
                    in: [1]
                    steps:
                      - s:
                          assign:
                            - x: 1
        """
    )
    assert "UnhandledBranchError" in err["tags"]
    nested = err["branches"][0]["error"]  # level 2's parallel step failed in level 1's branch
    assert "UnhandledBranchError" in nested["tags"]
    assert "ParallelNestingError" in nested["branches"][0]["error"]["tags"]


def test_return_inside_a_branch_is_refused() -> None:
    """`return` in a parallel branch is outside the supported subset."""
    with pytest.raises(LoadError, match="return inside a parallel branch"):
        load(
            """
            - p:
                parallel:
                  for:
                    value: v
                    in: [1]
                    steps:
                      - r:
                          return: 1
            """
        )


def test_error_in_branch_is_a_workflow_error() -> None:
    """What a branch raises arrives unchanged inside the UnhandledBranchError."""
    with pytest.raises(WorkflowError) as err:
        run(
            """
            - p:
                parallel:
                  branches:
                    - a:
                        steps:
                          - x:
                              raise: {"message": "m", "tags": ["T"]}
                    - b:
                        steps:
                          - y:
                              assign:
                                - z: 1
            """
        )
    assert err.value.value["branches"] == [{"id": "a", "error": {"message": "m", "tags": ["T"]}}]
