"""manifest.json (schema v4-v12, early Fusion's v20): dbt 1.0 and newer.

Every field read here is in manifest v4 (dbt 1.0) already: the nodes' ``name``,
``resource_type``, ``package_name``, ``database``/``schema``/``alias``, ``relation_name``,
``config``, ``description``, ``original_file_path``, and ``metadata.adapter_type``.

Only what dbtcost records is declared: name, package, relation, config, description, path,
and for the forecast compiled code, checksum, parents and language. The
rest of a manifest (macros, docs, parent/child maps, compiled code...) is skipped by the JSON
parser without building Python objects, so a large manifest costs time and memory in proportion
to what is kept.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from dbtcost.artifacts._base import Mapping_, Slim, check_kind, parse, read_bytes
from dbtcost.artifacts._io import MANIFEST_MIN_VERSION

MIN_VERSION = MANIFEST_MIN_VERSION


class ManifestMetadata(Slim):
    dbt_schema_version: str | None = None
    dbt_version: str | None = None
    generated_at: datetime | None = None
    invocation_id: str | None = None
    adapter_type: str | None = None
    project_name: str | None = None


class Checksum(Slim):
    """``checksum``: dbt's hash of the node's file (``checksum.checksum``)."""

    checksum: str | None = None


class DependsOn(Slim):
    """``depends_on``: the node's parents (``depends_on.nodes``); macros are not read."""

    nodes: Annotated[list[str], BeforeValidator(lambda v: [] if v is None else v)] = Field(default_factory=list)


class ManifestNode(Slim):
    """A node, source, exposure or unit test: the fields dbtcost records.

    ``compiled_code``, ``checksum``, ``depends_on`` and ``language`` are read for the forecast's
    ``dbt_node_states`` (a fingerprint of the code, the parents), for executed nodes only.
    """

    unique_id: str
    name: str | None = None
    resource_type: str | None = None
    package_name: str | None = None
    database: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    alias: str | None = None
    identifier: str | None = None
    relation_name: str | None = None
    description: str | None = None
    original_file_path: str | None = None
    config: Mapping_
    compiled_code: str | None = None
    language: str | None = None
    checksum: Checksum | str | None = None  # unit tests: a string in some versions
    depends_on: DependsOn | None = None

    @property
    def materialized(self) -> str | None:
        value = self.config.get("materialized")
        return value if isinstance(value, str) else None


NodeMap = Annotated[dict[str, ManifestNode], BeforeValidator(lambda v: {} if v is None else v),
                    Field(default_factory=dict)]


class Manifest(Slim):
    metadata: ManifestMetadata = Field(default_factory=ManifestMetadata)
    nodes: NodeMap
    sources: NodeMap
    exposures: NodeMap
    unit_tests: NodeMap

    @field_validator("metadata", mode="before")
    @classmethod
    def _null_metadata(cls, value: Any) -> Any:
        return {} if value is None else value

    def node(self, unique_id: str) -> ManifestNode | None:
        """The node with this unique_id, wherever the manifest keeps it."""
        for collection in (self.nodes, self.sources, self.unit_tests, self.exposures):
            found = collection.get(unique_id)
            if found is not None:
                return found
        return None


def load_manifest(path: Path | str, data: bytes | None = None) -> Manifest:
    """Parse a manifest.json file.

    Raises:
        ArtifactError: not JSON, not a manifest, or a version older than v4.
    """
    path = Path(path)
    data = read_bytes(path) if data is None else data
    check_kind(path, data, "manifest", MIN_VERSION)
    return parse(Manifest, path, data, "manifest.json")
