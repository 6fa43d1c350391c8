"""Regular expressions: RE2 syntax on Python's re (translations and refusals), and
match_regex, find_all_regex, replace_all_regex."""

from __future__ import annotations

import pytest

from tests.flow.expr_helpers import call, call_error


def matches(pattern: str, text: str) -> list[str]:
    """The matched substrings of find_all_regex."""
    return [m["match"] for m in call("text.find_all_regex", text, pattern)]


def test_find_all_regex_reference_example() -> None:
    """The reference's example: Hello|World in HelloWorld."""
    assert call("text.find_all_regex", "HelloWorld", "Hello|World") == [
        {"index": 0, "match": "Hello"},
        {"index": 5, "match": "World"},
    ]


def test_replace_all_regex_reference_example() -> None:
    """The reference's example: one|two replaced by three."""
    assert call("text.replace_all_regex", "one two", "one|two", "three") == "three three"


def test_match_regex() -> None:
    """match_regex is true when the pattern matches anywhere (unanchored)."""
    assert call("text.match_regex", "abc123", "[0-9]+") is True
    assert call("text.match_regex", "abc", "^b") is False
    assert call("text.match_regex", "abc", "^abc$") is True
    assert call("text.match_regex", "", "") is True


def test_empty_pattern_matches_between_characters() -> None:
    """An empty regexp matches k+1 times in k characters (the reference)."""
    assert call("text.replace_all_regex", "abc", "", "-") == "-a-b-c-"
    assert call("text.replace_all_regex", "", "", "-") == "-"
    assert [m["index"] for m in call("text.find_all_regex", "héé", "")] == [0, 1, 2, 3]


def test_no_empty_match_right_after_a_match() -> None:
    """As in RE2, x* on abxd replaces at 0, 1, the x, and the end (not right after the x)."""
    assert call("text.replace_all_regex", "abxd", "x*", "-") == "-a-b-d-"


def test_replacement_is_literal() -> None:
    """repl has no group references: \\1 and $1 are inserted as written."""
    assert call("text.replace_all_regex", "ab", "(a)", "[\\1$1\\0]") == "[\\1$1\\0]b"


def test_indexes_are_characters() -> None:
    """find_all_regex indexes count characters."""
    assert call("text.find_all_regex", "ééx", "x") == [{"index": 2, "match": "x"}]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\d+", "a1٣2", ["1", "2"]),
        (r"\w+", "héllo wörld", ["h", "llo", "w", "rld"]),
        (r"\s", "a b\u00a0c\td", [" ", "\t"]),
        (r"\bcat\b", "cat concat cat", ["cat", "cat"]),
        (r"\Bcat", "concat cat", ["cat"]),
        (r"[\d]+", "x42", ["42"]),
        (r"[^\w]", "a-b", ["-"]),
    ],
)
def test_character_classes_are_ascii(pattern: str, text: str, expected: list[str]) -> None:
    """\\d \\w \\s \\b are ASCII-only, as in RE2."""
    assert matches(pattern, text) == expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("a$", "a\n", []),
        ("a$", "a", ["a"]),
        ("(?m)a$", "a\na", ["a", "a"]),
        (r"a\z", "a\na", ["a"]),
        (r"\Aa", "aa", ["a"]),
        (r"\Qa.b\E", "a.b axb", ["a.b"]),
        (r"[\Q]\E]", "a]b", ["]"]),
        (r"\x{263a}", "x☺", ["☺"]),
        (r"\x41", "BAB", ["A"]),
        (r"\101", "BAB", ["A"]),
        (r"\0", "a\x00b", ["\x00"]),
        ("(?<year>[0-9]{4})", "in 2024", ["2024"]),
        ("(?P<y>x)", "axb", ["x"]),
        ("[[:alpha:]]+", "ab12cd", ["ab", "cd"]),
        ("[[:digit:][:upper:]]+", "aB1c", ["B1"]),
        ("[[:punct:]]", "a!b", ["!"]),
        ("a{,2}", "a{,2}", ["a{,2}"]),
        ("x{2}", "xxx", ["xx"]),
        ("x{1,2}?", "xx", ["x", "x"]),
        ("a(?i)b", "aB AB", ["aB"]),
        ("(?i)a|b", "A B", ["A", "B"]),
        ("x(?i)a|b", "xA B", ["xA", "B"]),
        ("(?s:.)", "\n", ["\n"]),
        ("(?i:A)b", "ab AB", ["ab"]),
        ("[a&&b]", "&", ["&"]),
        ("[]a]", "]", ["]"]),
        ("a/b", "a/b", ["a/b"]),
    ],
)
def test_re2_syntax_translations(pattern: str, text: str, expected: list[str]) -> None:
    """RE2 forms Python spells differently behave as in RE2."""
    assert matches(pattern, text) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a)\1",
        r"(?P<x>a)(?P=x)",
        r"a(?=b)",
        r"a(?!b)",
        r"(?<=a)b",
        r"(?<!a)b",
        r"(?>a)",
        r"a++",
        r"a*+",
        r"a{2}+",
        r"(?(1)a|b)",
        r"(?#comment)",
        r"(?U)a+",
        r"(?x)a",
        r"\pL",
        r"\p{Greek}",
        r"\Z",
        r"\G",
        r"\uFFFF",
        r"\N{DIGIT ONE}",
        r"\k<x>",
        r"\8",
        r"[[:nope:]]",
        r"[\D]",
        r"a{1001}",
        "(a",
        "a)",
        "[a",
        "a\\",
        "*a",
        "a**",
        r"\x{110000}",
    ],
)
def test_constructs_re2_lacks_are_value_errors(pattern: str) -> None:
    """Constructs RE2 lacks (backreferences, lookaround...) and malformed patterns raise ValueError."""
    err = call_error("text.match_regex", "abc", pattern)
    assert err.tags == ["ValueError"]
    assert "regular expression" in err.message


def test_regex_argument_types() -> None:
    """Non-string source, regexp or repl are TypeErrors."""
    assert call_error("text.match_regex", 1, "a").tags == ["TypeError"]
    assert call_error("text.find_all_regex", "a", None).tags == ["TypeError"]
    assert call_error("text.replace_all_regex", "a", "a", 2).tags == ["TypeError"]


def test_leftmost_first_alternation_is_the_known_difference() -> None:
    """Documented difference: Python picks the first alternative, RE2 the longest."""
    assert matches("a|ab", "ab") == ["a"]
    assert matches("ab|a", "ab") == ["ab"]
