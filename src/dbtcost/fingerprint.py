"""A node's code fingerprint: what dbt State compares to tell "the code changed" from "it did not".

``code_fingerprint`` hashes a node's compiled SQL after a light lexical normalisation: comments go,
every run of whitespace becomes one space, and string literals and quoted identifiers are kept
exactly as written (a ``--`` inside a string is not a comment). So an edit of whitespace or comments
is not a change; any other edit is. Without compiled code (seeds; manifests written by
``dbt parse``), the manifest's ``checksum.checksum`` (a hash of the file) stands in, and
``fingerprint_source`` says which was used.

Why not sqlglot: parsing and regenerating each statement in its dialect would also equate keyword
case and redundant parentheses, but it costs about 7.6 ms per 2 KB statement (measured on the
10,000-model benchmark manifest, sqlglot 30.22): 76 s more per 10,000-model invocation, against an
ingest of a few seconds. The lexical normalisation costs microseconds per statement. See
docs/forecast.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

COMPILED_SQL: Final = "compiled_sql"
CHECKSUM: Final = "checksum"

# One alternation, left to right: literals and quoted identifiers are kept whole; any run of
# whitespace and comments (``--`` to end of line, ``/* */``) becomes one space.
_TOKENS = re.compile(
    r"""('(?:[^'\\]|\\.|'')*'"""  # 'string' ('' and \' escapes)
    r'''|"(?:[^"]|"")*"'''  # "identifier"
    r"|`(?:[^`]|``)*`"  # `identifier` (BigQuery, Databricks)
    r"|\$(\w*)\$.*?\$\2\$)"  # $$dollar$$ / $tag$...$tag$ (PostgreSQL)
    r"|(?:\s|--[^\n]*|/\*.*?\*/)+",  # whitespace and comments
    re.DOTALL,
)


def _replace(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else " "


def normalise_sql(sql: str) -> str:
    """``sql`` without comments, whitespace runs as one space, no leading/trailing space or ``;``."""
    return _TOKENS.sub(_replace, sql).strip().rstrip(";").strip()


def code_fingerprint(compiled_code: str | None, checksum: str | None) -> tuple[str | None, str | None]:
    """(fingerprint, source): sha256 of the normalised compiled SQL, else the manifest checksum."""
    if compiled_code and compiled_code.strip():
        return hashlib.sha256(normalise_sql(compiled_code).encode()).hexdigest(), COMPILED_SQL
    if checksum:
        return checksum, CHECKSUM
    return None, None


__all__ = ["CHECKSUM", "COMPILED_SQL", "code_fingerprint", "normalise_sql"]
