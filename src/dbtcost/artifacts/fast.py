"""The fast decoder under the pydantic models, used by ``ingest`` on large artifacts.

The pydantic models (``run_results.py``, ``manifest.py``) stay the public model of the artifacts
and the only source of error messages. Here, msgspec structs of the same slim shape decode the
same bytes without building each node's ``config``: it is kept as JSON text and decoded only for
the nodes a run executed (``ManifestNode.config``). A 160 MB manifest takes 0.2 s, not 1.7 s.

Every value these structs hold is the value pydantic would hold (datetimes are converted as
pydantic converts them; ``null`` maps and lists read as empty). Where the two decoders could
differ (anything msgspec rejects: lax coercions such as ``"3"`` for an int, ``NaN``, an unusual
timestamp, a ``config`` that is not an object; and invalid UTF-8 in a field msgspec skips), the
file is parsed again by the pydantic model: it either raises the usual one-line
``ArtifactError`` or returns the pydantic model, which ``records`` reads the same way.
``tests/artifacts/test_fast.py`` holds both decoders to this.

One difference is left: JSON nested more than 200 deep inside a field neither model declares
(a node's ``columns``, say) is refused by pydantic's parser and skipped by msgspec's. dbt writes
nothing that deep; checking for it would cost a second pass over the file.
"""

from __future__ import annotations

import codecs
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from dbtcost.artifacts._io import MANIFEST_MIN_VERSION, RUN_RESULTS_MIN_VERSION, check_kind, gc_paused
from dbtcost.fingerprint import compiled_fingerprint

if TYPE_CHECKING:
    # The pydantic models are imported only where msgspec declines a file (and for typing).
    from dbtcost.artifacts import manifest as pydantic_manifest
    from dbtcost.artifacts import run_results as pydantic_run_results

# The timestamp shapes dbt writes (Core: microseconds and "Z"; Fusion: nanoseconds), which
# ``datetime.fromisoformat`` reads to the same value as pydantic once the fraction is cut to
# microseconds (pydantic truncates, it does not round). Any other shape goes to pydantic.
_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,9}))?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?", re.ASCII)


def timestamp(text: Any) -> datetime | None:
    """``text`` as pydantic's ``datetime`` would read it; ValueError for a shape left to pydantic
    (and for anything but a string or null)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"timestamp left to pydantic: {text!r}")
    if len(text) == 27 and text[26] == "Z" and text[4:20:3] == "--T::.":
        # dbt Core's own shape, 2026-11-20T06:00:02.625463Z: fromisoformat checks the digits.
        return datetime.fromisoformat(text)
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"timestamp left to pydantic: {text!r}")
    fraction = match.group(1)
    if fraction is not None and len(fraction) > 6:
        text = text[:20 + 6] + text[20 + len(fraction):]
    return datetime.fromisoformat(text)


class _Struct(msgspec.Struct, gc=False):
    """Decoded structs only hold acyclic JSON values: no need for the cyclic GC to track them."""


def _shared(text: str | None) -> str | None:
    """One string object for the values thousands of nodes repeat (a status, a package, a
    schema) and for those the run results and the manifest both hold (a unique_id, a relation
    name; a name that is also the alias): about 20 MB less of a 10,000-model run at the ingest's
    peak of memory."""
    return None if text is None else sys.intern(text)


# --- run_results.json -----------------------------------------------------------------------

#: A timestamp field: decoded as it is in the file (``Any``: text or null, anything else is left
#: to pydantic), held as a datetime once the struct is built (``timestamp``).
_Timestamp = Any


class Timing(_Struct):
    name: str
    started_at: _Timestamp = None
    completed_at: _Timestamp = None

    def __post_init__(self) -> None:
        self.name = sys.intern(self.name)
        self.started_at = timestamp(self.started_at)
        self.completed_at = timestamp(self.completed_at)


class ResultMetadata(_Struct):
    invocation_id: str
    dbt_schema_version: str | None = None
    dbt_version: str | None = None
    generated_at: _Timestamp = None
    invocation_started_at: _Timestamp = None
    env: dict[str, Any] | None = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.generated_at = timestamp(self.generated_at)
        self.invocation_started_at = timestamp(self.invocation_started_at)
        if self.env is None:
            self.env = {}


class RunResult(_Struct):
    """One executed node, as ``run_results.RunResult``."""

    unique_id: str
    status: str
    timing: list[Timing] | None = msgspec.field(default_factory=list)
    thread_id: str | None = None
    execution_time: float | None = None
    adapter_response: dict[str, Any] | None = msgspec.field(default_factory=dict)
    message: str | None = None
    failures: int | None = None
    relation_name: str | None = None
    compiled: bool | None = None
    batch_results: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.unique_id, self.status = sys.intern(self.unique_id), sys.intern(self.status)
        self.thread_id, self.relation_name = _shared(self.thread_id), _shared(self.relation_name)
        if self.timing is None:
            self.timing = []
        if self.adapter_response is None:
            self.adapter_response = {}

    def span(self, name: str) -> Timing | None:
        """The ``compile`` or ``execute`` timing entry, if dbt wrote one."""
        for entry in self.timing or ():
            if entry.name == name:
                return entry
        return None


class RunResults(_Struct):
    metadata: ResultMetadata
    results: list[RunResult]
    elapsed_time: float | None = None
    args: dict[str, Any] | None = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.args is None:
            self.args = {}

    @property
    def is_fusion(self) -> bool:
        return (self.metadata.dbt_version or "").startswith("2.")


# --- manifest.json --------------------------------------------------------------------------

_NULL = msgspec.Raw(b"null")
_decode_config = msgspec.json.Decoder(dict[str, Any]).decode


class ManifestMetadata(_Struct):
    dbt_schema_version: str | None = None
    dbt_version: str | None = None
    generated_at: _Timestamp = None
    invocation_id: str | None = None
    adapter_type: str | None = None
    project_name: str | None = None

    def __post_init__(self) -> None:
        self.generated_at = timestamp(self.generated_at)


class Checksum(_Struct):
    checksum: str | None = None


class DependsOn(_Struct):
    nodes: list[str] | None = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.nodes is None:
            self.nodes = []


class ManifestNode(_Struct):
    """A node, as ``manifest.ManifestNode``; its ``config`` stays JSON text until read."""

    unique_id: str
    name: str | None = None
    resource_type: str | None = None
    package_name: str | None = None
    database: str | None = None
    schema_: str | None = msgspec.field(default=None, name="schema")
    alias: str | None = None
    identifier: str | None = None
    relation_name: str | None = None
    description: str | None = None
    original_file_path: str | None = None
    raw_config: msgspec.Raw = msgspec.field(default=_NULL, name="config")
    #: None once the node is decoded: its fingerprint is kept instead (``compiled_fingerprint``).
    compiled_code: str | None = None
    language: str | None = None
    checksum: Checksum | str | None = None  # unit tests: a string in some versions
    depends_on: DependsOn | None = None
    #: ``fingerprint.compiled_fingerprint`` of the compiled SQL, taken as the node is decoded, so
    #: that the SQL (22 MB of a 10,000-model manifest, at the ingest's peak of memory) is not
    #: kept. Set from ``compiled_code`` only (whatever a file holds under this odd name).
    compiled_fingerprint: str | None = msgspec.field(default=None, name="(dbtcost: compiled_fingerprint)")

    def __post_init__(self) -> None:
        # The pydantic model accepts an object or null here, nothing else.
        if memoryview(self.raw_config)[0] not in b"{n":
            raise ValueError("config is not an object")
        # A Raw is a view of the whole file: ``_let_file_go`` copies the configs where that is cheap.
        self.compiled_fingerprint = compiled_fingerprint(self.compiled_code)
        self.compiled_code = None
        self.resource_type, self.package_name = _shared(self.resource_type), _shared(self.package_name)
        self.database, self.schema_ = _shared(self.database), _shared(self.schema_)
        self.language = _shared(self.language)
        self.unique_id, self.relation_name = sys.intern(self.unique_id), _shared(self.relation_name)
        self.name, self.alias = _shared(self.name), _shared(self.alias)

    @property
    def config(self) -> dict[str, Any]:
        """The config, decoded on each access (read it once per use)."""
        raw = self.raw_config
        return {} if raw == _NULL else _decode_config(raw)

    @property
    def materialized(self) -> str | None:
        value = self.config.get("materialized")
        return value if isinstance(value, str) else None


_NodeMap = dict[str, ManifestNode] | None


class Manifest(_Struct):
    metadata: ManifestMetadata | None = None
    nodes: _NodeMap = msgspec.field(default_factory=dict)
    sources: _NodeMap = msgspec.field(default_factory=dict)
    exposures: _NodeMap = msgspec.field(default_factory=dict)
    unit_tests: _NodeMap = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metadata is None:
            self.metadata = ManifestMetadata()
        for name in ("nodes", "sources", "exposures", "unit_tests"):
            if getattr(self, name) is None:
                setattr(self, name, {})

    def node(self, unique_id: str) -> ManifestNode | None:
        """The node with this unique_id, wherever the manifest keeps it."""
        for collection in (self.nodes, self.sources, self.unit_tests, self.exposures):
            found = collection.get(unique_id)  # type: ignore[union-attr]
            if found is not None:
                return found
        return None


class _NodeId(_Struct):
    """A node that no result of the run names: only its ``unique_id`` is checked, nothing kept."""

    unique_id: str


_RawMap = dict[str, msgspec.Raw] | None


class _LazyManifest(_Struct):
    """The manifest with each node left as JSON text, to decode only those a run executed."""

    metadata: ManifestMetadata | None = None
    nodes: _RawMap = None
    sources: _RawMap = None
    exposures: _RawMap = None
    unit_tests: _RawMap = None


# --- decoding -------------------------------------------------------------------------------

_run_results_decoder = msgspec.json.Decoder(RunResults)
_manifest_decoder = msgspec.json.Decoder(Manifest)
_lazy_manifest_decoder = msgspec.json.Decoder(_LazyManifest)
_node_decoder = msgspec.json.Decoder(ManifestNode)
_node_id_decoder = msgspec.json.Decoder(_NodeId)
_UTF8_CHUNK_BYTES = 1 << 22


class _Declined(Exception):
    """msgspec's reading could differ from pydantic's: let pydantic read the file."""


def _decode(decoder: msgspec.json.Decoder, data: bytes) -> Any:
    try:
        with gc_paused():
            decoded = decoder.decode(data)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _Declined from None
    # msgspec skips the fields it does not decode without checking their UTF-8; pydantic
    # refuses a file with invalid UTF-8 anywhere. dbt Core writes ASCII (checked in ~10 ms
    # per 100 MB); other files are checked piecewise, never decoded whole.
    if not data.isascii():
        check = codecs.getincrementaldecoder("utf-8")("strict").decode
        view = memoryview(data)
        try:
            for start in range(0, len(data), _UTF8_CHUNK_BYTES):
                check(view[start:start + _UTF8_CHUNK_BYTES])
            check(b"", True)
        except UnicodeDecodeError:
            raise _Declined from None
    return decoded


def decode_run_results(path: Path, data: bytes) -> RunResults | pydantic_run_results.RunResults:
    """run_results.json as fast structs, or as the pydantic model where msgspec declines.

    Raises:
        ArtifactError: exactly as ``load_run_results``.
    """
    check_kind(path, data, "run-results", RUN_RESULTS_MIN_VERSION)
    try:
        return _decode(_run_results_decoder, data)
    except _Declined:
        from dbtcost.artifacts.run_results import load_run_results

        return load_run_results(path, data)


def decode_manifest(path: Path, data: bytes, wanted: set[str] | None = None
                    ) -> Manifest | pydantic_manifest.Manifest:
    """manifest.json as fast structs, or as the pydantic model where msgspec declines.

    The structs hold no reference to ``data`` unless the configs kept are most of it (see
    ``_let_file_go``): then they hold it once instead of a copy of it.

    Args:
        wanted: the unique_ids a run names. Only those nodes are kept; the others are checked
            for a ``unique_id`` and dropped, so a manifest of large, distinct configs costs memory
            for the nodes that ran, not for the whole project. None keeps every node.

    Raises:
        ArtifactError: exactly as ``load_manifest``.
    """
    check_kind(path, data, "manifest", MANIFEST_MIN_VERSION)
    try:
        if wanted is None:
            decoded = _decode(_manifest_decoder, data)
        else:
            decoded = _trimmed(_decode(_lazy_manifest_decoder, data), wanted)
    except _Declined:
        from dbtcost.artifacts.manifest import load_manifest

        return load_manifest(path, data)
    _let_file_go(decoded, len(data))
    return decoded


#: Configs are copied out of the file when they are at most this share of it.
_COPY_SHARE = 4


def _let_file_go(manifest: Manifest, file_size: int) -> None:
    """Copy each node's config out of the file's bytes, if the configs are a small part of it.

    Each ``raw_config`` is a view that keeps the whole file in memory. Usually the configs kept
    are a few MB of a 160 MB manifest: copied, they let the file go before the rows are written.
    When they are most of the file (large, distinct configs, every node run), a copy would hold
    the file twice while it is made; then the views stay, and the file is held once.
    """
    nodes = [n for c in (manifest.nodes, manifest.sources, manifest.exposures, manifest.unit_tests)
             for n in (c or {}).values()]
    if sum(len(n.raw_config) for n in nodes) * _COPY_SHARE > file_size:
        return
    for node in nodes:
        node.raw_config = node.raw_config.copy()


def _trimmed(lazy: _LazyManifest, wanted: set[str]) -> Manifest:
    """The wanted nodes of ``lazy`` decoded (each config copied), the rest checked and dropped."""
    collections: dict[str, dict[str, ManifestNode]] = {}
    try:
        with gc_paused():
            for name in ("nodes", "sources", "exposures", "unit_tests"):
                kept: dict[str, ManifestNode] = {}
                for key, raw in (getattr(lazy, name) or {}).items():
                    if key in wanted:
                        kept[sys.intern(key)] = _node_decoder.decode(raw)
                    else:
                        _node_id_decoder.decode(raw)
                collections[name] = kept
    except (msgspec.MsgspecError, ValueError, RecursionError):
        raise _Declined from None
    return Manifest(metadata=lazy.metadata, **collections)


__all__ = ["Manifest", "ManifestNode", "RunResult", "RunResults", "decode_manifest", "decode_run_results",
           "timestamp"]
