"""Secrets out of everything printed: URLs with their password *and* credential-like query
parameters masked, and text scrubbed of those values.

A SQLAlchemy URL can carry a secret in more places than ``user:password@``: Snowflake's
``?password=``, MotherDuck's ``?motherduck_token=``, BigQuery's ``?credentials_base64=``,
``?private_key=``, ``?access_token=``... Every query parameter whose name looks like a
credential is shown as ``***``.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
#: Query parameter names that hold a credential (matched anywhere in the name, any case).
_CREDENTIAL = re.compile(r"pass|pwd|token|secret|credential|private|key|auth|session|signature|sas",
                         re.IGNORECASE)


def is_credential(name: str) -> bool:
    """Whether a URL query parameter (or a setting) of this name holds a secret."""
    return bool(_CREDENTIAL.search(name))


def _parse(url: str) -> Any:
    import sqlalchemy as sa

    try:
        return sa.make_url(url)
    except sa.exc.ArgumentError:
        return None


def safe_url(url: str) -> str:
    """The URL with its password and every credential-like query parameter shown as ``***``."""
    parsed = _parse(str(url))
    if parsed is None:
        return "<invalid URL>"
    query = {k: (MASK if is_credential(k) else v) for k, v in parsed.query.items()}
    # the mask is shown as itself, not URL-encoded (%2A%2A%2A)
    return parsed.set(query=query).render_as_string(hide_password=True).replace("%2A%2A%2A", MASK)


def secrets_of(url: str) -> list[str]:
    """The secret values in a URL: its password and credential-like query values."""
    parsed = _parse(str(url))
    if parsed is None:
        return []
    found = [str(parsed.password)] if parsed.password else []
    for key, value in parsed.query.items():
        if is_credential(key):
            found += [value] if isinstance(value, str) else list(value)
    # longest first, so a secret containing another is masked whole
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with every secret of ``url`` replaced by ``***`` (drivers echo them in errors)."""
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
        # URL-encoded forms appear too when a driver echoes the URL it was given
        from urllib.parse import quote, quote_plus

        for encoded in {quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(encoded, MASK)
    return text
