"""How much ``ingest`` reads: caps on files and archives, each an option to raise.

The defaults fit the largest real projects with room to spare (a 10,000-model manifest is about
160 MB; JSON artifacts compress 5-30x), and stop what is not an artifact: ``/dev/zero`` behind a
symlink, a zip bomb, an archive of millions of members.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps applied while finding and reading artifacts (``ingest --max-file-size`` ...)."""

    max_file_bytes: int = 4096 * MIB
    """The largest artifact file read, on disk or extracted from an archive."""
    max_archive_ratio: float = 200.0
    """Bytes extracted from an archive at most this many times the archive's size (a zip bomb
    inflates thousands of times); extractions under ``ratio_floor_bytes`` are always allowed."""
    max_archive_members: int = 100_000
    """Members an archive may list (every file of it, not only the artifacts)."""
    ratio_floor_bytes: int = 64 * MIB


DEFAULT = Limits()
