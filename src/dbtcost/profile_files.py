"""Finding a dbt profile as dbt does: the project, ``profiles.yml``, the profile and the target.

The project is ``--project-dir``, else ``DBT_PROJECT_DIR``, else the current directory or the
nearest parent with a ``dbt_project.yml``; ``profiles.yml`` is in ``--profiles-dir``, else
``DBT_PROFILES_DIR``, else the project directory, else ``~/.dbt``; the profile is ``--profile``
(else ``DBT_PROFILE``, else the project's ``profile:``); the target is ``--target`` (else
``DBT_TARGET``, else the profile's ``target:``, else ``default``). No SQLAlchemy and no pydantic
here: ``profiles.py`` turns the output found into a connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbtcost.env_var import render
from dbtcost.errors import ProfileError


@dataclass(frozen=True)
class ProfileOptions:
    """dbt's own options, each None to take dbt's default; ``schema``/``database`` move the tracking tables."""

    profiles_dir: Path | None = None
    profile: str | None = None
    target: str | None = None
    project_dir: Path | None = None
    schema: str | None = None
    database: str | None = None

    @property
    def names_a_profile(self) -> bool:
        """True when an option asks for a dbt profile (not just where to put the tables)."""
        return any(v is not None for v in (self.profiles_dir, self.profile, self.target, self.project_dir))


# -- finding the files ----------------------------------------------------------------------------


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """``DBT_ENGINE_<name>`` (dbt >= 1.11) or ``DBT_<name>``, when set and not empty."""
    return environ.get(f"DBT_ENGINE_{name}") or environ.get(f"DBT_{name}") or None


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path``; errors name the position and problem, never the text there."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProfileError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        # Only the position and the problem: the offending line could hold a literal password.
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProfileError(f"{path}: not valid YAML{at}: {getattr(e, 'problem', None) or 'parse error'}") from None


def find_project_dir(project_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The dbt project directory: the argument, ``DBT_PROJECT_DIR``, or the nearest with dbt_project.yml."""
    environ = os.environ if environ is None else environ
    if project_dir is not None:
        return Path(project_dir).expanduser()
    if _env(environ, "PROJECT_DIR"):
        return Path(_env(environ, "PROJECT_DIR") or ".").expanduser()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    return here


def find_profiles_dir(profiles_dir: Path | None = None, project_dir: Path | None = None,
                      environ: Mapping[str, str] | None = None) -> Path:
    """Where profiles.yml is: the argument, ``DBT_PROFILES_DIR``, the project directory, ``~/.dbt``."""
    environ = os.environ if environ is None else environ
    if profiles_dir is not None:
        return Path(profiles_dir).expanduser()
    if _env(environ, "PROFILES_DIR"):
        return Path(_env(environ, "PROFILES_DIR") or ".").expanduser()
    project = find_project_dir(project_dir, environ)
    if (project / "profiles.yml").is_file():
        return project
    return Path.home() / ".dbt"


def project_profile_name(project_dir: Path, environ: Mapping[str, str]) -> str | None:
    """The ``profile:`` of ``project_dir/dbt_project.yml`` (rendered), or None without one."""
    path = project_dir / "dbt_project.yml"
    if not path.is_file():
        return None
    project = read_yaml(path)
    if not isinstance(project, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    name = render(project.get("profile"), environ, f"{path}: profile")
    return None if name is None else str(name)


def find_output(options: ProfileOptions, environ: Mapping[str, str]) -> tuple[Path, str, str, dict[str, Any]]:
    """(profiles.yml path, profile name, target name, the target's output as written)."""
    project_dir = find_project_dir(options.project_dir, environ)
    name = options.profile or _env(environ, "PROFILE") or project_profile_name(project_dir, environ)
    if not name:
        raise ProfileError(f"no --profile given and no dbt_project.yml in {project_dir} to name one "
                           "(pass --profile, or --project-dir pointing at your dbt project)")
    folder = find_profiles_dir(options.profiles_dir, options.project_dir, environ)
    path = folder / "profiles.yml"
    if not path.is_file():
        raise ProfileError(f"no profiles.yml in {folder} (set --profiles-dir or DBT_PROFILES_DIR)")
    profiles = read_yaml(path) or {}
    if not isinstance(profiles, dict):
        raise ProfileError(f"{path}: expected a mapping of profile names at the top level")
    profile = profiles.get(name)
    if not isinstance(profile, dict):
        known = ", ".join(sorted(str(k) for k, v in profiles.items() if k != "config" and isinstance(v, dict)))
        raise ProfileError(f"profile '{name}' not found in {path} (profiles: {known or 'none'})")
    target = (options.target or _env(environ, "TARGET")
              or render(profile.get("target"), environ, f"{path}: {name}.target") or "default")
    target = str(target)
    outputs = profile.get("outputs")
    if not isinstance(outputs, dict) or not isinstance(outputs.get(target), dict):
        known = ", ".join(sorted(str(k) for k in outputs)) if isinstance(outputs, dict) else "none"
        raise ProfileError(f"target '{target}' not found in profile '{name}' of {path} (targets: {known})")
    return path, str(name), target, outputs[target]
