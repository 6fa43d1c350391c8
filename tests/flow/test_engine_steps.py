"""The step engine against Cloud Workflows' documented semantics: assignment, scoping,
loops, switch, jumps, subworkflows and their limits."""

from __future__ import annotations

import pytest

from tests.flow.engine_helpers import error_of, run


def test_assign_items_see_earlier_ones_and_values_are_copies() -> None:
    """Assignments run in order; assigning a map copies it (no aliasing)."""
    result = run(
        """
        - a:
            assign:
              - x: 2
              - y: ${x * 3}
              - m: {"k": 1}
              - n: ${m}
              - n.k: 5
        - r:
            return: [ "${y}", "${m.k}", "${n.k}" ]
        """
    )
    assert result == [6, 1, 5]


def test_assigning_through_missing_keys_creates_maps() -> None:
    """`m.a.b: 1` creates the missing nested maps; `xs[1]` replaces a list item."""
    result = run(
        """
        - a:
            assign:
              - m: {}
              - m.a.b: 1
              - m["c"]: 2
              - xs: [1, 2, 3]
              - xs[1]: 20
        - r:
            return: { "m": "${m}", "xs": "${xs}" }
        """
    )
    assert result == {"m": {"a": {"b": 1}, "c": 2}, "xs": [1, 20, 3]}


def test_list_index_out_of_range_is_index_error() -> None:
    """Assigning past a list's end raises IndexError."""
    err = error_of(
        """
        - a:
            assign:
              - xs: [1]
              - xs[3]: 0
        """
    )
    assert "IndexError" in err["tags"]


def test_for_loop_variables_are_local_and_outer_ones_update() -> None:
    """Inside a loop an outer variable is updated; a new one vanishes after the loop."""
    result = run(
        """
        - init:
            assign:
              - total: 0
              - seen: []
        - loop:
            for:
              value: v
              index: i
              in: [10, 20, 30]
              steps:
                - add:
                    assign:
                      - total: ${total + v}
                      - seen: ${list.concat(seen, i)}
                      - scratch: ${v}
        - r:
            return: { "total": "${total}", "seen": "${seen}" }
        """
    )
    assert result == {"total": 60, "seen": [0, 1, 2]}


def test_range_is_inclusive_and_may_be_an_expression() -> None:
    """`range: [a, b]` includes both ends; `range: ${[..]}` works too."""
    result = run(
        """
        - init:
            assign:
              - out: []
              - n: 3
        - loop:
            for:
              value: v
              range: ${[1, n]}
              steps:
                - add:
                    assign:
                      - out: ${list.concat(out, v)}
        - r:
            return: ${out}
        """
    )
    assert result == [1, 2, 3]


def test_break_and_continue() -> None:
    """`next: continue` skips the rest of an iteration; `next: break` leaves the loop."""
    result = run(
        """
        - init:
            assign:
              - out: []
        - loop:
            for:
              value: v
              in: [1, 2, 3, 4, 5]
              steps:
                - skip_even:
                    switch:
                      - condition: ${v % 2 == 0}
                        next: continue
                - stop:
                    switch:
                      - condition: ${v == 5}
                        next: break
                - add:
                    assign:
                      - out: ${list.concat(out, v)}
        - r:
            return: ${out}
        """
    )
    assert result == [1, 3]


def test_for_over_a_map_is_a_type_error() -> None:
    """`for in` wants a list (keys(map) for a map)."""
    err = error_of(
        """
        - init:
            assign:
              - m: {"a": 1}
        - loop:
            for:
              value: v
              in: ${m}
              steps:
                - s:
                    assign:
                      - x: 1
        """
    )
    assert "TypeError" in err["tags"]


def test_switch_first_true_condition_and_default_next() -> None:
    """The first true condition runs; without a match the switch's own next is taken."""
    text = """
        main:
          params: [n]
          steps:
            - pick:
                switch:
                  - condition: ${n > 10}
                    return: "big"
                  - condition: ${n > 5}
                    next: medium
                next: small
            - medium:
                return: "medium"
            - small:
                return: "small"
        """
    assert [run(text, n) for n in (20, 7, 1)] == ["big", "medium", "small"]


def test_switch_condition_must_be_boolean() -> None:
    """A condition that is not true/false raises TypeError."""
    err = error_of(
        """
        - s:
            switch:
              - condition: ${1}
                return: 1
        """
    )
    assert "TypeError" in err["tags"]


def test_switch_steps_then_continue_with_the_switch_next() -> None:
    """After a matched condition's steps, execution goes to the switch's next."""
    result = run(
        """
        - init:
            assign:
              - log: []
        - s:
            switch:
              - condition: true
                steps:
                  - inner:
                      assign:
                        - log: ${list.concat(log, "inner")}
            next: after
        - skipped:
            assign:
              - log: ${list.concat(log, "skipped")}
        - after:
            return: ${log}
        """
    )
    assert result == ["inner"]


def test_jumping_back_makes_a_loop_and_end_stops() -> None:
    """`next` may jump back; `next: end` ends the workflow with null."""
    result = run(
        """
        - init:
            assign:
              - i: 0
        - inc:
            assign:
              - i: ${i + 1}
        - again:
            switch:
              - condition: ${i < 4}
                next: inc
        - r:
            return: ${i}
        """
    )
    assert result == 4
    assert run("- a:\n    next: end\n- b:\n    return: 1\n") is None


def test_subworkflow_params_defaults_and_missing_arguments() -> None:
    """Optional parameters take their default; a missing required one is a TypeError."""
    text = """
        main:
          params: [args]
          steps:
            - one:
                call: add
                args:
                  a: 1
                result: r1
            - two:
                call: add
                args:
                  a: 1
                  b: 2
                result: r2
            - pick:
                switch:
                  - condition: ${args == "missing"}
                    return: ${add()}
            - done:
                return: [ "${r1}", "${r2}" ]
        add:
          params: [a, b: 10]
          steps:
            - r:
                return: ${a + b}
        """
    assert run(text) == [11, 3]
    assert "TypeError" in error_of(text, "missing")["tags"]


def test_subworkflow_called_in_an_expression() -> None:
    """A subworkflow can be called inside an expression with positional arguments."""
    text = """
        main:
          steps:
            - r:
                return: ${twice(4) + 1}
        twice:
          params: [x]
          steps:
            - r:
                return: ${x * 2}
        """
    assert run(text) == 9


def test_recursion_is_limited() -> None:
    """Unbounded recursion raises RecursionError."""
    err = error_of(
        """
        main:
          steps:
            - go:
                call: down
                args:
                  n: 0
        down:
          params: [n]
          steps:
            - again:
                call: down
                args:
                  n: ${n + 1}
        """
    )
    assert "RecursionError" in err["tags"]


def test_main_without_arguments_gets_null() -> None:
    """The runtime-arguments parameter is null when the execution has no arguments."""
    assert (
        run("main:\n  params: [args]\n  steps:\n    - r:\n        return: ${args == null}\n")
        is True
    )


def test_variables_over_the_memory_limit() -> None:
    """An execution's variables are capped at 512 KB: ResourceLimitError."""
    err = error_of(
        """
        - init:
            assign:
              - s: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
              - n: 0
        - grow:
            assign:
              - s: ${s + s}
              - n: ${n + 1}
        - again:
            switch:
              - condition: ${n < 20}
                next: grow
        """
    )
    assert "ResourceLimitError" in err["tags"]


@pytest.mark.parametrize("value", ['"plain"', '{"message": "m", "code": 7}'])
def test_raise_any_value(value: str) -> None:
    """`raise` raises the value as it is (a string or a map)."""
    err = error_of(f"- r:\n    raise: {value}\n")
    assert err == ("plain" if value.startswith('"') else {"message": "m", "code": 7})
