"""dbt's Jinja in profiles.yml and dbt_project.yml: ``{{ env_var('NAME', 'default') | as_number }}``.

Rendered by jinja2's sandboxed environment, with what dbt gives these files: ``env_var`` and
dbt's filters (``as_text``, ``as_number``, ``as_bool``, ``as_native``) beside Jinja's own. The
sandbox refuses attribute tricks (``''.__class__``); nothing else is defined (``var``, ``ref``:
an error naming them), and an error is one line naming the file and key, never a value (it may
be a secret).

As dbt renders them: a value that is exactly one expression ending in a typed filter (``|
as_number``, ``| int``, ``| float``, ``| as_bool``, ``| bool``, ``| as_native``) becomes that
type; one that is exactly one other expression is its text (None stays None); anything else is
the rendered text.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import Any

from dbtcost.errors import ProfileError

#: Words read as true and as false (``as_bool``; also DBTCOST_USE_DBT_PROFILE).
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = {"false", "0", "no", "n", "off"}
#: Filters whose result keeps its type when the value is exactly the one expression.
TYPED_FILTERS = frozenset({"as_number", "int", "float", "as_bool", "bool", "as_native"})
_ONE_EXPRESSION = re.compile(r"\A\{\{-?(?P<expr>.*?)-?\}\}\Z", re.S)
_UNSET = object()


def _number(text: str, where: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ProfileError(f"{where}: the value is not a number (not shown: it may be a secret)") from None


def _boolean(text: str, where: str) -> bool:
    if text.strip().lower() in TRUE_WORDS:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ProfileError(f"{where}: the value is not a boolean (not shown: it may be a secret)")


def _native(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _environment(environ: Mapping[str, str], where: str) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def env_var(name: Any, default: Any = _UNSET) -> Any:
        if not isinstance(name, str):
            raise ProfileError(f"{where}: env_var() needs a variable name in quotes")
        if name in environ:
            return environ[name]
        if default is _UNSET:
            raise ProfileError(f"{where}: environment variable '{name}' is not set and env_var() gives no default")
        return default

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                        finalize=lambda value: "" if value is None else value)
    env.globals = {"env_var": env_var}  # and nothing else: not Jinja's range, dict, lipsum, ...
    filters: dict[str, Callable[[Any], Any]] = {
        "as_text": _text, "string": _text,
        "as_number": lambda v: _number(_text(v), where), "int": lambda v, *_: int(_number(_text(v), where)),
        "float": lambda v, *_: float(_number(_text(v), where)),
        "as_bool": lambda v: _boolean(_text(v), where), "bool": lambda v: _boolean(_text(v), where),
        "as_native": lambda v: _native(_text(v)),
    }
    env.filters.update(filters)
    return env


def render(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """``value`` with the Jinja in its strings rendered, recursively (dicts and lists).

    Raises:
        ProfileError: an unset variable without default, anything but ``env_var`` called, a
            template that is not valid Jinja, or a value a typed filter cannot convert.
    """
    if isinstance(value, dict):
        return {k: render(v, environ, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value and "{#" not in value):
        return value
    from jinja2 import TemplateError, nodes

    env = _environment(environ, where)
    try:
        parsed = env.parse(value)
        one = _ONE_EXPRESSION.match(value)
        body = parsed.body
        if one is not None and len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1:
            result = env.compile_expression(one.group("expr"), undefined_to_none=False)()
            node = body[0].nodes[0]
            if isinstance(node, nodes.Filter) and node.name in TYPED_FILTERS:
                return result
            return None if result is None else _text(result)
        return env.from_string(value).render()
    except ProfileError:
        raise
    except (TemplateError, TypeError, ValueError, ArithmeticError) as e:
        problem = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
        raise ProfileError(f"{where}: cannot render {{{{ ... }}}} ({problem}); profiles render env_var() and "
                           "dbt's filters") from None


__all__ = ["TRUE_WORDS", "TYPED_FILTERS", "render"]
