"""What every pydantic artifact model shares: slim models, one-line errors (file reading: ``_io``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dbtcost.artifacts._io import (  # noqa: F401  (re-exported: the parsers import them from here)
    KIND_FILENAMES,
    MAX_FILE_BYTES,
    check_kind,
    gc_paused,
    read_bytes,
    schema_of,
)
from dbtcost.errors import ArtifactError


class Slim(BaseModel):
    """Validates only the fields declared; everything else in the JSON is skipped, not built."""

    model_config = ConfigDict(extra="ignore", frozen=False, populate_by_name=True)


M = TypeVar("M", bound=Slim)

# dbt writes `null` where a map or list is empty in some versions (Fusion, early v20 manifests).
Mapping_ = Annotated[dict[str, Any], BeforeValidator(lambda v: {} if v is None else v), Field(default_factory=dict)]


def parse(model: type[M], path: Path, data: bytes, what: str) -> M:
    """Validate ``data`` as ``model``; any failure becomes one line naming the file."""
    try:
        with gc_paused():
            return model.model_validate_json(data)
    except ValidationError as e:
        raise ArtifactError(path, describe(e, what)) from None


def describe(error: ValidationError, what: str) -> str:
    """One line for a pydantic error: the first problem, where it is, and how many more."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    first = problems[0]
    if first["type"] == "json_invalid":
        return f"not valid JSON ({first['msg'].removeprefix('Invalid JSON: ')})"
    if first["type"] == "model_type" and not first["loc"]:
        return f"not a {what} (the top level is not a JSON object)"
    where = ".".join(str(part) for part in first["loc"])
    message = f"not a valid {what}: {where}: {first['msg']}"
    if first["type"] == "missing":
        message = f"not a valid {what}: missing field '{where}'"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problems)"
    return message
