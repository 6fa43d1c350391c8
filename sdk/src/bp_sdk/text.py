"""Free text from people and data: what inputs refuse, and how each output format escapes it.

**Refused at the input** (:func:`control_chars`, :func:`text_problem`): C0 and C1 control
characters (U+0000–U+001F, U+007F–U+009F; a field may allow some, e.g. ``\\n`` and ``\\t``
in a description), lone surrogates (U+D800–U+DFFF) and the Unicode bidirectional
override and isolate characters (U+202A–U+202E, U+2066–U+2069), which can make text
display in another order than it is stored.

**Escaped on output**, as defence in depth for data stored by older versions and text
from elsewhere:

* :func:`for_xml` / :func:`for_html`: those characters (plus U+FFFE/U+FFFF and the bidi
  marks U+200E/U+200F) become visible ``\\xNN``/``\\uNNNN`` escapes, since XML 1.0 does
  not allow most of them at all, then ``& < > " '`` are escaped (text or attribute value);
* :func:`for_markdown`: one line of inline Markdown that renders literally (whitespace
  becomes one space, invisible characters U+FFFD, Markdown and HTML punctuation is
  backslash-escaped); :func:`one_line` does the first two steps only;
* :func:`for_log`: visible escapes for a terminal (no raw ESC, CR, BEL ...), newlines and
  tabs kept; :func:`for_json_line` escapes the characters ``json.dumps`` leaves raw (C1
  controls, lone surrogates, bidi and line separators) in a finished JSON line.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

from bp_sdk.errors import Problem

BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIDI_MARKS: Final = frozenset("\u200e\u200f")
NONCHARACTERS: Final = frozenset("\ufffe\uffff")
MULTILINE: Final = "\n\t"  # what a multi-line field (a description, a reason) may hold
SHOWN: Final = 5  # forbidden characters named in one problem; the rest are counted

# every category of character that renders as nothing (or not at all) in Markdown text
_HIDDEN: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
_MD_ESCAPE: Final = re.compile(r"([\\`*_\[\]<>|&~$#])")
# characters json.dumps(ensure_ascii=False) writes raw; inside a JSON string they can be
# written as \uXXXX escapes without changing the value (outside strings they cannot occur)
_JSON_RAW: Final = re.compile("[\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMES: Final = {
    "\x00": "NUL",
    "\x07": "BEL",
    "\x08": "BACKSPACE",
    "\t": "TAB",
    "\n": "LINE FEED",
    "\x0b": "VERTICAL TAB",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESC",
    "\x7f": "DELETE",
}


def is_refused(ch: str, allow: str = "") -> bool:
    """Whether one character is refused in free text (``allow`` lists exceptions)."""
    if ch in allow:
        return False
    return unicodedata.category(ch) in {"Cc", "Cs"} or ch in BIDI_CONTROLS


def control_chars(text: str, allow: str = "") -> list[tuple[int, str]]:
    """``(position, character)`` of every refused character, positions counted from 1."""
    return [(i, ch) for i, ch in enumerate(text, start=1) if is_refused(ch, allow)]


def describe(ch: str) -> str:
    """``U+001B (ESC)``, ``U+202E (RIGHT-TO-LEFT OVERRIDE)``, ``U+D800 (lone surrogate)``."""
    code = f"U+{ord(ch):04X}"
    if ch in _NAMES:
        return f"{code} ({_NAMES[ch]})"
    cat = unicodedata.category(ch)
    if cat == "Cs":
        return f"{code} (lone surrogate)"
    if cat == "Cc":
        return f"{code} ({'C0' if ord(ch) < 0x20 else 'C1'} control character)"
    name = unicodedata.name(ch, "")
    return f"{code} ({name})" if name else code


def text_problem(where: str, text: str, allow: str = "") -> Problem | None:
    """One problem naming every refused character of ``text`` (the first :data:`SHOWN`
    by code point and position), or None when it has none."""
    found = control_chars(text, allow)
    if not found:
        return None
    named = ", ".join(f"{describe(ch)} at position {i}" for i, ch in found[:SHOWN])
    if len(found) > SHOWN:
        named += f" and {len(found) - SHOWN} more"
    what = "character" if len(found) == 1 else "characters"
    kept = " (line breaks and tabs are fine)" if allow == MULTILINE else ""
    return Problem(
        where,
        f"contains {len(found)} forbidden {what}: {named}",
        "remove it: control characters, lone surrogates and bidirectional override or "
        f"isolate characters (U+202A-U+202E, U+2066-U+2069) are not allowed in text{kept}",
    )


def _visible(ch: str, keep: str) -> str:
    if ch in keep:
        return ch
    if (
        unicodedata.category(ch) in {"Cc", "Cs"}
        or ch in BIDI_CONTROLS
        or ch in BIDI_MARKS
        or ch in NONCHARACTERS
    ):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def visible(text: str, keep: str = MULTILINE) -> str:
    """``text`` with control characters, surrogates, bidi controls and marks and
    U+FFFE/U+FFFF turned into visible ``\\xNN``/``\\uNNNN`` escapes (``keep`` excepted)."""
    return "".join(_visible(ch, keep) for ch in text)


def for_xml(value: object) -> str:
    """Any value as XML 1.0 text or attribute value: always well-formed, shown literally."""
    return html.escape(visible(str(value)), quote=True)


def for_html(value: object) -> str:
    """Any value as HTML text or attribute value (the same escaping as :func:`for_xml`)."""
    return for_xml(value)


def one_line(value: object) -> str:
    """One line of text: each whitespace character a space, each invisible character
    (control, format, separator, private use, surrogate) U+FFFD; nothing else changed."""
    return "".join(
        " " if ch.isspace() else "\ufffd" if unicodedata.category(ch) in _HIDDEN else ch
        for ch in str(value)
    )


def for_markdown(value: object, limit: int | None = None) -> str:
    """``value`` as inline Markdown that renders literally: :func:`one_line`, runs of
    spaces collapsed, cut to ``limit`` characters, punctuation escaped (``—`` if empty)."""
    text = " ".join(one_line(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_ESCAPE.sub(r"\\\1", text) if text else "—"


def for_log(text: str) -> str:
    """A log line for a terminal: no raw control or bidi character (newlines, tabs kept)."""
    return visible(text)


def for_json_line(line: str) -> str:
    """A finished JSON line with the characters ``json.dumps(ensure_ascii=False)`` leaves
    raw (C1 controls, lone surrogates, line separators, bidi controls) as ``\\uXXXX``."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
