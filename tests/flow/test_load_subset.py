"""Anything outside the supported subset is refused when a file is loaded, with file and
line; every file in workflows/ loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from bp_flow.connectors import SUPPORTED
from bp_flow.errors import LoadError
from bp_flow.loader import load_file

from tests.flow.engine_helpers import load

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "workflows").glob("*.yaml"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_project_workflow_loads(path: Path) -> None:
    """Each file in workflows/ is inside the subset (what would not run locally fails here)."""
    wf = load_file(path, SUPPORTED)
    assert "main" in wf.subworkflows


def test_the_project_has_pipeline_and_batch() -> None:
    """Both workflows the design names exist."""
    assert {p.name for p in WORKFLOWS} >= {"pipeline.yaml", "batch.yaml"}


CASES = {
    "unknown step key": ("- a:\n    asign:\n      - x: 1\n", 2, "unknown key 'asign'"),
    "two kinds in one step": ("- a:\n    assign:\n      - x: 1\n    return: 1\n", 1, "mixes"),
    "next to a missing step": ("- a:\n    next: nowhere\n", 1, "'nowhere' is not a step"),
    "break outside a loop": ("- a:\n    next: break\n", 1, "outside a sequential for loop"),
    "unknown function in an expression": ("- a:\n    return: ${nope.fn(1)}\n", 1, "'nope.fn'"),
    "unknown call": ("- a:\n    call: http.get\n", 1, "call 'http.get'"),
    "blocking function in an expression": (
        "- a:\n    return: ${sys.sleep(1)}\n",
        1,
        "only be used in a call step",
    ),
    "variable never assigned": ("- a:\n    return: ${ghost}\n", 1, "reads 'ghost'"),
    "loop variable read after the loop": (
        "- l:\n    for:\n      value: v\n      in: [1]\n      steps:\n        - s:\n            assign:\n              - x: 1\n- r:\n    return: ${v}\n",
        9,
        "reads 'v'",
    ),
    "interpolation inside a string": (
        '- a:\n    return: "id-${x}"\n',
        2,
        "expression must be the whole value",
    ),
    "duplicate step names": (
        "- a:\n    assign:\n      - x: 1\n- a:\n    return: 1\n",
        4,
        "used twice",
    ),
    "shared variable not assigned before": (
        "- p:\n    parallel:\n      shared: [acc]\n      branches:\n        - b1:\n            steps:\n              - s:\n                  assign:\n                    - acc: 1\n        - b2:\n            steps:\n              - t:\n                  assign:\n                    - y: 1\n",
        1,
        "not assigned before the parallel step",
    ),
    "unknown retry predicate": (
        "- t:\n    try:\n      call: sys.log\n      args:\n        text: x\n    retry:\n      predicate: ${nope}\n      max_retries: 1\n      backoff:\n        initial_delay: 1\n        max_delay: 1\n        multiplier: 1\n",
        1,
        "retry predicate 'nope'",
    ),
    "unknown argument of a standard function": (
        "- a:\n    call: text.split\n    args:\n      source: a\n      separator: b\n      limit: 3\n",
        1,
        "has no parameter 'limit'",
    ),
    "missing argument of a subworkflow": (
        "main:\n  steps:\n    - c:\n        call: sub\n        args:\n          b: 1\nsub:\n  params: [a, b]\n  steps:\n    - r:\n        return: 1\n",
        3,
        "needs argument 'a'",
    ),
    "exception policy other than continueAll": (
        "- p:\n    parallel:\n      exception_policy: stopAll\n      branches:\n        - a:\n            steps:\n              - s:\n                  assign:\n                    - x: 1\n        - b:\n            steps:\n              - t:\n                  assign:\n                    - y: 1\n",
        3,
        "exception_policy 'stopAll'",
    ),
    "a tag that builds objects": (
        "- a:\n    return: !!python/object:os.system x\n",
        2,
        "unsupported YAML",
    ),
    "not YAML at all": ("- a: [\n", 2, "not valid YAML"),
    "expression syntax error": ("- a:\n    return: ${1 +}\n", 2, "expression"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_outside_the_subset_is_refused_with_its_line(case: str) -> None:
    """Each construct outside the subset is one problem naming the file and line."""
    text, line, words = CASES[case]
    with pytest.raises(LoadError) as err:
        load(text)
    rendered = [p.render() for p in err.value.problems]
    assert any(words in r and r.startswith(f"test.yaml:{line}:") for r in rendered), rendered


def test_every_problem_is_reported_at_once() -> None:
    """Several problems in one file are all listed in one error."""
    with pytest.raises(LoadError) as err:
        load("- a:\n    next: nowhere\n- b:\n    return: ${ghost}\n- c:\n    call: no.such\n")
    assert len(err.value.problems) == 3
