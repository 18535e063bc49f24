"""A node's code fingerprint: what dbt State compares to tell "the code changed" from "it did not".

``code_fingerprint`` hashes a node's compiled SQL in a canonical form: comments removed (``--`` to
the end of the line, ``/* */``; a marker inside a string literal or a quoted name is not a comment),
and every run of whitespace made one space. So an edit of whitespace or comments is not a change;
any other edit is, except one blind spot: whitespace edited *inside* a string literal is not seen
either. Without compiled code (seeds; manifests written by ``dbt parse``), the manifest's
``checksum.checksum`` (dbt's hash of the file) stands in, and ``fingerprint_source`` says which.

Why not sqlglot: parsing and regenerating each statement in its dialect would also equate keyword
case and redundant parentheses, but it costs about 7.6 ms per 2 KB statement (measured on the
10,000-model benchmark manifest, sqlglot 30.22): over a minute more per 10,000-model invocation,
against an ingest of a few seconds. This canonical form costs about 0.2 s for the 24,000 compiled
nodes (22 MB of SQL) of that manifest: ``str.split`` in C for the whitespace, a plain comment
pattern where no comment marker sits after an odd number of quotes, and a literal-aware scan
only for the statements where one might. See docs/forecast.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

COMPILED_SQL: Final = "compiled_sql"
CHECKSUM: Final = "checksum"

# String literals and quoted names (kept, so a comment marker inside them stays), or a comment.
_QUOTED_OR_COMMENT = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'"""  # 'string' ('' and \' escapes)
    r'''|"(?:[^"]|"")*"'''  # "identifier"
    r"|`(?:[^`]|``)*`"  # `identifier` (BigQuery, Databricks)
    r"|\$(\w*)\$.*?\$\1\$"  # $$dollar$$ / $tag$...$tag$ (PostgreSQL)
    r"|(--[^\n]*|/\*.*?\*/)",  # a comment: group 2
    re.DOTALL,
)


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _inside_quotes(sql: str, at: int) -> bool:
    return any(sql.count(q, 0, at) % 2 for q in "'\"`") or "$" in sql


def _without_comments(sql: str) -> str:
    if "--" not in sql and "/*" not in sql:
        return sql
    comments = list(_COMMENT.finditer(sql))
    if not any(_inside_quotes(sql, m.start()) for m in comments):
        return _COMMENT.sub(" ", sql)  # the common case: no marker inside a literal, a C-speed pass
    return _QUOTED_OR_COMMENT.sub(lambda m: " " if m.group(2) is not None else m.group(0), sql)


def normalise_sql(sql: str) -> str:
    """``sql`` without comments, every whitespace run one space, no trailing ``;``."""
    return " ".join(_without_comments(sql).split()).rstrip(";").rstrip()


def compiled_fingerprint(compiled_code: str | None) -> str | None:
    """sha256 of the normalised compiled SQL; None without compiled code."""
    if compiled_code and compiled_code.strip():
        return hashlib.sha256(normalise_sql(compiled_code).encode()).hexdigest()
    return None


def code_fingerprint(compiled_code: str | None, checksum: str | None, *,
                     compiled: str | None = None) -> tuple[str | None, str | None]:
    """(fingerprint, source): sha256 of the normalised compiled SQL, else the manifest checksum.

    ``compiled``: the compiled SQL's fingerprint, when it was taken as the node was decoded
    (``artifacts.fast``); ``compiled_code`` is then None.
    """
    compiled = compiled or compiled_fingerprint(compiled_code)
    if compiled:
        return compiled, COMPILED_SQL
    if checksum:
        return checksum, CHECKSUM
    return None, None


__all__ = ["CHECKSUM", "COMPILED_SQL", "code_fingerprint", "compiled_fingerprint", "normalise_sql"]
