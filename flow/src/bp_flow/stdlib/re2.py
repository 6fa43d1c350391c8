"""RE2 regular expressions on Python's ``re``: translate the RE2 syntax that Workflows
documents, refuse what RE2 does not have (backreferences, lookaround, atomic groups,
possessive quantifiers, conditionals, comments) with a ValueError, and iterate matches the
way RE2 does (no empty match right after a match).

Translations: ``\\d \\w \\s \\b`` are ASCII as in RE2; ``$`` outside multi-line mode is the
end of the text (``\\z``); ``\\z``, ``\\Q...\\E``, ``\\x{...}``, octal escapes, ``(?<name>``,
flags in the middle of a pattern, POSIX classes such as ``[[:alpha:]]`` and literal
``{`` that is not a repetition. Unicode classes (``\\pL``) are not supported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from bp_flow.expr.values import value_error

_WORD = "0-9A-Za-z_"
_CLASS_ESCAPES = {"d": "0-9", "w": _WORD, "s": r"\t\n\f\r "}
_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": r"[\t\n\f\r ]",
    "S": r"[^\t\n\f\r ]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
    "z": r"\Z",
    "A": r"\A",
}
_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": r"\x00-\x7f",
    "blank": r"\t ",
    "cntrl": r"\x00-\x1f\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": r"!-/:-@\[-`{-~",
    "space": r"\t\n\v\f\r ",
    "upper": "A-Z",
    "word": _WORD,
    "xdigit": "0-9A-Fa-f",
}
_PASS = set("afnrtv") | set(r".\+*?()|[]{}^$-/#&~ '\"<>=!:,@%;`")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_MAX_REPEAT = 1000
_UNSUPPORTED_GROUPS = (
    ("(?=", "lookahead"),
    ("(?!", "lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "lookbehind"),
    ("(?>", "atomic groups"),
    ("(?#", "comments"),
    ("(?P=", "backreferences"),
    ("(?(", "conditionals"),
)


def _bad(pattern: str, why: str) -> Exception:
    return value_error(f"invalid regular expression {pattern[:80]!r}: {why}")


@dataclass
class _Translator:
    """One pass over an RE2 pattern, emitting the equivalent Python pattern."""

    src: str
    out: list[str] = field(default_factory=list)
    i: int = 0
    flags: list[set[str]] = field(default_factory=lambda: [set()])
    scoped: list[list[str]] = field(default_factory=lambda: [[]])

    def run(self) -> str:
        while self.i < len(self.src):
            self.step()
        if len(self.flags) != 1:
            raise _bad(self.src, "missing ')'")
        self.out.append(")" * len(self.scoped[0]))
        return "".join(self.out)

    def step(self) -> None:
        c = self.src[self.i]
        if c == "\\":
            self.escape()
        elif c == "[":
            self.char_class()
        elif c == "(":
            self.group()
        elif c == ")":
            self.close()
        elif c == "|":  # flags set by (?i) go on in the next alternative
            opened = self.scoped[-1]
            self.out.append(")" * len(opened) + "|" + "".join(opened))
            self.i += 1
        elif c == "$":
            self.out.append("$" if "m" in self.flags[-1] else r"\Z")
            self.i += 1
        elif c == "{":
            self.brace()
        elif c in "*+?":
            self.out.append(c)
            self.i += 1
            self.after_quantifier()
        else:
            self.out.append(c)
            self.i += 1

    def after_quantifier(self) -> None:
        if self.src.startswith("?", self.i):  # lazy: RE2 has it too
            self.out.append("?")
            self.i += 1
        elif self.src.startswith("+", self.i):
            raise _bad(self.src, "possessive quantifiers are not supported by RE2")

    def brace(self) -> None:
        m = _REPEAT.match(self.src, self.i)
        if m is None:
            self.out.append(r"\{")
            self.i += 1
            return
        counts = [int(g) for g in (m.group(1), m.group(3)) if g]
        if any(n > _MAX_REPEAT for n in counts):
            raise _bad(self.src, f"repetition count above {_MAX_REPEAT}")
        self.out.append(m.group(0))
        self.i = m.end()
        self.after_quantifier()

    def escape(self) -> None:
        if self.i + 1 >= len(self.src):
            raise _bad(self.src, "trailing backslash")
        d = self.src[self.i + 1]
        self.i += 2
        if d in _ESCAPES:
            self.out.append(_ESCAPES[d])
        elif d == "Q":
            self.out.append(self.quoted(in_class=False))
        elif d in "0123456789":
            self.out.append(self.octal(d))
        elif d == "x":
            self.out.append(self.hex_escape())
        elif d in _PASS or not d.isascii() or not d.isalnum():
            self.out.append("\\" + d)
        else:
            raise _bad(self.src, f"escape '\\{d}' is not supported")

    def octal(self, first: str) -> str:
        digits = first
        while len(digits) < 3 and self.i < len(self.src) and self.src[self.i] in "01234567":
            digits += self.src[self.i]
            self.i += 1
        if first in "89" or (first != "0" and len(digits) == 1):
            raise _bad(self.src, "backreferences are not supported by RE2")
        return f"\\u{int(digits, 8):04x}"

    def hex_escape(self) -> str:
        if self.src.startswith("{", self.i):
            end = self.src.find("}", self.i)
            digits = self.src[self.i + 1 : end] if end > 0 else ""
            if (
                not digits
                or any(c not in "0123456789abcdefABCDEF" for c in digits)
                or int(digits, 16) > 0x10FFFF
            ):
                raise _bad(self.src, "bad \\x{...} escape")
            self.i = end + 1
            return f"\\U{int(digits, 16):08x}"
        digits = self.src[self.i : self.i + 2]
        if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise _bad(self.src, "bad \\x escape")
        self.i += 2
        return "\\x" + digits

    def quoted(self, *, in_class: bool) -> str:
        end = self.src.find(r"\E", self.i)
        text = self.src[self.i :] if end < 0 else self.src[self.i : end]
        self.i = len(self.src) if end < 0 else end + 2
        return (
            "".join("\\" + c if not c.isalnum() else c for c in text)
            if in_class
            else re.escape(text)
        )

    def char_class(self) -> None:
        self.out.append("[")
        self.i += 1
        if self.src.startswith("^", self.i):
            self.out.append("^")
            self.i += 1
        first = True  # a ']' right after '[' or '[^' is a literal
        while self.i < len(self.src) and (first or self.src[self.i] != "]"):
            first = False
            self.class_item()
        if self.i >= len(self.src):
            raise _bad(self.src, "missing ']'")
        self.out.append("]")
        self.i += 1

    def class_item(self) -> None:
        text, single = self.class_atom()
        rest = self.src[self.i : self.i + 2]
        if single and len(rest) == 2 and rest[0] == "-" and rest[1] != "]":
            self.i += 1
            end, end_single = self.class_atom()
            if not end_single:
                raise _bad(self.src, "bad character class range")
            self.out.append(f"{text}-{end}")
        else:
            self.out.append(text)

    def class_atom(self) -> tuple[str, bool]:
        """One element of a class as Python text, and whether it is a single character
        (literal '-' and set operators are escaped so Python never sees '--' or '&&')."""
        c = self.src[self.i]
        if self.src.startswith("[:", self.i):
            end = self.src.find(":]", self.i + 2)
            name = self.src[self.i + 2 : end] if end > 0 else ""
            if name not in _POSIX:
                raise _bad(self.src, f"unknown character class [:{name}:]")
            self.i = end + 2
            return _POSIX[name], False
        if c == "\\":
            if self.i + 1 >= len(self.src):
                raise _bad(self.src, "trailing backslash")
            return self.class_escape(self.src[self.i + 1])
        self.i += 1
        return ("\\" + c if c in "[]^-&~|" else c), True

    def class_escape(self, d: str) -> tuple[str, bool]:
        self.i += 2
        if d in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[d], False
        if d == "Q":
            return self.quoted(in_class=True), False
        if d in "0123456789":
            return self.octal(d), True
        if d == "x":
            return self.hex_escape(), True
        if d in _PASS or not d.isascii() or not d.isalnum():
            return "\\" + d, True
        raise _bad(self.src, f"escape '\\{d}' is not supported in a character class")

    def group(self) -> None:
        rest = self.src[self.i :]
        if not rest.startswith("(?"):
            self.open("(", set(self.flags[-1]), 1)
            return
        for prefix, what in _UNSUPPORTED_GROUPS:
            if rest.startswith(prefix):
                raise _bad(self.src, f"{what} are not supported by RE2")
        named = re.match(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", rest)
        if named:
            self.open(f"(?P<{named.group(1)}>", set(self.flags[-1]), named.end())
            return
        m = re.match(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])", rest)
        if m is None:
            raise _bad(self.src, "unknown group syntax")
        on, off = set(m.group(1)), set(m.group(2) or "")
        if not on | off <= set("ims") or (not on and not off and m.group(3) == ")"):
            raise _bad(self.src, f"unsupported flags in {m.group(0)!r} (RE2 flags here: i, m, s)")
        flags = (self.flags[-1] | on) - off
        text = "(?" + "".join(sorted(on)) + ("-" + "".join(sorted(off)) if off else "") + ":"
        if m.group(3) == ":":
            self.open(text, flags, m.end())
        else:  # (?i) applies to the rest of the enclosing group
            self.out.append(text)
            self.i += m.end()
            self.flags[-1] = flags
            self.scoped[-1].append(text)

    def open(self, text: str, flags: set[str], length: int) -> None:
        self.out.append(text)
        self.i += length
        self.flags.append(flags)
        self.scoped.append([])

    def close(self) -> None:
        if len(self.flags) == 1:
            raise _bad(self.src, "unmatched ')'")
        self.out.append(")" * len(self.scoped.pop()) + ")")
        self.flags.pop()
        self.i += 1


@lru_cache(maxsize=256)
def compile_re2(pattern: str) -> re.Pattern[str]:
    """The compiled Python equivalent of an RE2 pattern (ValueError when invalid)."""
    python = _Translator(pattern).run()
    try:
        return re.compile(python)
    except (re.error, FutureWarning) as err:  # a warning is an exception only under -W error
        raise _bad(pattern, str(err)) from None


def iter_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Non-overlapping matches left to right; an empty match right after the previous
    match is skipped (RE2's rule), so ``""`` matches ``k+1`` times in ``k`` characters."""
    pos, last_end = 0, -1
    while pos <= len(text):
        m = pattern.search(text, pos)
        if m is None:
            return
        if m.start() == m.end() == last_end:
            pos = m.start() + 1
            continue
        yield m
        last_end = m.end()
        pos = m.end() if m.end() > m.start() else m.end() + 1
