"""Archives of dbt artifacts (``.zip``, ``.tar.gz``, ...): extracted safely, then walked like folders.

Only the artifacts dbtcost reads are extracted (``run_results.json``, ``sources.json`` and
``manifest.json``), keeping their folders, into ``<temp>/<archive name>!/``: a run read from
``runs.zip`` member ``123/1/run_results.json`` is named ``.../runs.zip!/123/1/run_results.json``.

Safety: an archive with an absolute member, or one with ``..`` in its path, is refused as a whole;
links and devices are never extracted; each file, the total and the ratio of bytes extracted to
the archive's size are capped, counting the bytes actually written rather than what the archive
declares (a zip bomb can lie), and so is the number of members (``dbtcost.limits``).
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from dbtcost.errors import ArtifactError
from dbtcost.limits import DEFAULT, Limits
from dbtcost.loader import ARCHIVE_SUFFIXES

#: Name endings taken for archives (case-insensitive); ``loader`` tells archives by them without
#: importing this module.
SUFFIXES = ARCHIVE_SUFFIXES
#: Members extracted: what ``ingest`` reads. Everything else (compiled SQL, logs) is left alone.
EXTRACTED = frozenset({"run_results.json", "sources.json", "manifest.json"})
#: The largest single file extracted; a manifest of a very large project is a few hundred MB.
MAX_MEMBER_BYTES = 4 << 30
#: The most bytes extracted from one archive.
MAX_TOTAL_BYTES = 64 << 30
#: The most members an archive may list, whatever ``Limits.max_archive_members`` says.
MAX_MEMBERS = 10_000_000
_CHUNK_BYTES = 1 << 20


def is_archive(path: Path | str) -> bool:
    """Whether ``path`` is named like an archive dbtcost can open."""
    return str(path).lower().endswith(SUFFIXES)


class _Scratch:
    """A temp folder, removed once nothing refers to this object any more."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="dbtcost-archive-"))
        weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


@dataclass
class Extracted:
    """The artifacts of one archive, extracted under ``root`` (``<temp>/<archive name>!``)."""

    archive: Path
    root: Path
    _scratch: _Scratch

    def keep_while(self, owner: object) -> None:
        """Keep the extracted files until ``owner`` (e.g. an ArtifactSet read from them) is collected.

        The finalizer holds the temp folder until ``owner`` goes; the folder is removed when its
        last owner has gone, or at exit.
        """
        weakref.finalize(owner, _release, self._scratch)


def _release(_scratch: _Scratch) -> None:
    """Drops the finalizer's reference to the temp folder, which removes it when it was the last."""


@dataclass
class _Budget:
    """What one extraction may still write: per member, in total, and relative to the archive."""

    limits: Limits
    archive_bytes: int
    left: int = MAX_TOTAL_BYTES
    written: int = 0

    @property
    def ratio_cap(self) -> int:
        return max(int(self.limits.max_archive_ratio * self.archive_bytes), self.limits.ratio_floor_bytes)


def extract(archive: Path | str, limits: Limits = DEFAULT) -> Extracted:
    """Extract the dbt artifacts of ``archive`` into a new temp folder.

    Raises:
        ArtifactError: the archive is corrupt, has an unsafe member, or is over a size limit
            (``limits``: per file, members, and bytes extracted per byte of archive); nothing is
            left on disk then.
    """
    archive = Path(archive)
    scratch = _Scratch()
    root = scratch.path / f"{archive.name}!"
    root.mkdir()
    budget = _Budget(limits, archive.stat().st_size, left=MAX_TOTAL_BYTES)
    try:
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, root, budget)
        else:
            _extract_tar(archive, root, budget)
    except ArtifactError:
        shutil.rmtree(scratch.path, ignore_errors=True)
        raise
    return Extracted(archive, root, scratch)


def _member_path(archive: Path, name: str) -> PurePosixPath:
    """The member's relative path, or ArtifactError if it could land outside the extraction folder."""
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    drive = len(normal) > 1 and normal[1] == ":"  # C:/... written by Windows tools
    if path.is_absolute() or drive or ".." in path.parts:
        raise ArtifactError(archive, f"member {name!r} would be written outside the extraction folder "
                                     "(absolute path or '..'); archive refused, nothing extracted")
    return path


def _wanted(path: PurePosixPath) -> bool:
    return path.name in EXTRACTED


def _copy(archive: Path, name: str, source: IO[bytes], dest: Path, budget: _Budget) -> None:
    """Copy one member, stopping as soon as it passes the per-file or the total limit."""
    written = 0
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = dest.open("wb")
    except OSError as e:
        raise ArtifactError(archive, f"cannot extract {name!r} to a temp folder ({_reason(e)})") from None
    with out:
        # Reading errors (a corrupt member) propagate to the caller, which names the archive format.
        max_member = min(MAX_MEMBER_BYTES, budget.limits.max_file_bytes)
        while chunk := source.read(_CHUNK_BYTES):
            written += len(chunk)
            budget.left -= len(chunk)
            budget.written += len(chunk)
            if written > max_member:
                raise ArtifactError(archive, f"member {name!r} is larger than {max_member:,} bytes; archive refused "
                                             "(--max-file-size raises the cap)")
            if budget.left < 0:
                raise ArtifactError(archive, f"more than {MAX_TOTAL_BYTES:,} bytes of artifacts; archive refused")
            if budget.written > budget.ratio_cap:
                raise ArtifactError(archive, f"inflates to more than {budget.limits.max_archive_ratio:g} times its "
                                             f"size ({budget.archive_bytes:,} bytes); archive refused as a "
                                             "possible zip bomb (--max-archive-ratio raises the cap)")
            try:
                out.write(chunk)
            except OSError as e:
                raise ArtifactError(archive, f"cannot extract {name!r} to a temp folder ({_reason(e)})") from None


def _extract_zip(archive: Path, root: Path, budget: _Budget) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            _check_count(archive, len(members), budget.limits)
            paths = [(info, _member_path(archive, info.filename)) for info in members]
            for info, path in paths:
                is_link = stat.S_ISLNK(info.external_attr >> 16)
                if info.is_dir() or is_link or not _wanted(path):
                    continue
                with zf.open(info) as source:
                    _copy(archive, info.filename, source, root.joinpath(*path.parts), budget)
    except RuntimeError as e:  # zipfile: "File ... is encrypted, password required for extraction"
        if "encrypted" not in str(e):
            raise
        raise ArtifactError(archive, "is password-protected (encrypted members); dbtcost reads only "
                                     "unencrypted archives") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, OSError) as e:
        raise ArtifactError(archive, f"not a readable zip archive ({_reason(e)})") from None


def _extract_tar(archive: Path, root: Path, budget: _Budget) -> None:
    # Streaming mode ("r|*"): one pass, members checked and extracted as they come. Nothing is
    # extracted through tarfile's own extract*(): a member is only ever read as a regular file.
    try:
        with archive.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tf:
            for count, member in enumerate(_members(tf), start=1):
                _check_count(archive, count, budget.limits)
                path = _member_path(archive, member.name)
                if not member.isreg() or not _wanted(path):
                    continue
                source = tf.extractfile(member)
                if source is not None:
                    _copy(archive, member.name, source, root.joinpath(*path.parts), budget)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as e:
        raise ArtifactError(archive, f"not a readable tar archive ({_reason(e)})") from None


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tf.next()) is not None:
        yield member


def _check_count(archive: Path, count: int, limits: Limits) -> None:
    cap = min(MAX_MEMBERS, limits.max_archive_members)
    if count > cap:
        raise ArtifactError(archive, f"more than {cap:,} members; archive refused "
                                     "(--max-archive-members raises the cap)")


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


__all__ = ["Extracted", "extract", "is_archive"]
