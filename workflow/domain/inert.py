"""Stored text made inert for a screen: control characters and bidirectional overrides shown as escapes.

Customer text reaches agents' terminals through the CLI and the terminal app; an
ESC or OSC sequence could rewrite the screen and a right-to-left override could
reverse what an agent reads. Both faces pass stored text through `inert`.
"""

from __future__ import annotations

import unicodedata
from functools import cache

# Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the marks that
# steer them, and the line and paragraph separators that break a line as a newline would.
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C,
                                   0x2028, 0x2029))


@cache
def _shown(char: str) -> str:
    # Cs: a lone surrogate, what an argument that was not valid UTF-8 decodes to; no terminal can take it.
    if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def inert(value: object, *, multiline: bool = False) -> str:
    """`value` as text whose control characters (ESC, BEL, NUL ...) and bidi overrides print as `\\x1b`, `\\u202e`.

    A newline stays a newline when `multiline`; otherwise it becomes a space, so one field stays one line.
    """
    text = "" if value is None else str(value)
    if text.isprintable():  # every character `_shown` changes is unprintable to Python
        return text
    return "".join(("\n" if multiline else " ") if char == "\n" else _shown(char) for char in text)
