"""Stored strings made safe for where they are shown: one helper per target.

Anything read from an artifact (a model name, an invocation id, a run title, an error naming an
archive member) is data, never formatting. Each output escapes it for its own reader:

- :func:`visible`: control characters (ESC, newline, bidi overrides, ...) shown as ``\\x1b``,
  ``\\n``, ``\\u202e``, so a value cannot move the cursor, forge a line or hide text.
- :func:`terminal`: :func:`visible` as a rich ``Text``, which rich never parses as markup.
- :func:`markdown`: :func:`visible`, then everything Markdown and HTML interpret is escaped, and
  @mentions and bare links are broken with an invisible word joiner.
- :func:`csv_cell`: a string a spreadsheet would run as a formula gets a leading ``'`` (OWASP).
- :func:`one_line`: :func:`visible` for error messages: a one-line error stays one line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

#: C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text
#: (bidi embeddings, overrides and isolates; line and paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """``str(value)`` with every control character written out as an escape."""
    return _CONTROL.sub(_show, str(value))


one_line = visible


def terminal(value: Any, style: str = "") -> Text:
    """The value as rich Text: shown literally (``[link=...]`` stays text), controls visible."""
    from rich.text import Text

    return Text(visible(value), style=style)


#: Characters Markdown or HTML give a meaning to, mid-line (GitHub-flavoured Markdown). ``(``
#: and ``!`` only matter next to ``[``, which is escaped, so they are left as they read.
_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]#|~"}
_MD_ESCAPES |= {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}
_WORD_JOINER = "\u2060"
#: An @mention, a bare link (scheme:// or www.) and an email-like autolink: broken by a word joiner.
_AUTOLINK = re.compile(r"(@)(?=\w)|(:)(?=//)|(www)(?=\.)", re.IGNORECASE)


def markdown(value: Any) -> str:
    """The value as literal text in GitHub Markdown (a table cell, a heading): no HTML, links,
    images, emphasis, comments or mentions; ``|`` and newlines cannot break the table."""
    text = "".join(_MD_ESCAPES.get(c, c) for c in visible(value))
    return _AUTOLINK.sub(lambda m: m.group() + _WORD_JOINER, text)


#: What spreadsheet tools treat as the start of a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A string that a spreadsheet would evaluate gets a leading single quote; others unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
