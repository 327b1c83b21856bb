"""Library error types, so the CLI can print them cleanly (exit 2) and API users can catch them.

``BorderscenError`` is the base of every error the library raises on purpose; ``ConfigError`` is
bad user input (names the file, key, bad value and what is allowed); ``StoreError`` is a results
folder that cannot be used as asked (locked, not ours, another config, corrupt).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel


class BorderscenError(Exception):
    """Base of the errors borderscen raises on purpose (never a pydantic, numpy or OS internal)."""


class StoreError(BorderscenError, RuntimeError):
    """A results folder cannot be used as asked."""


class ExecutorError(BorderscenError, RuntimeError):
    """The executor could not run the batch (e.g. a process pool whose workers cannot start)."""


class ConfigError(BorderscenError, ValueError):
    """Bad input in a file or call: names the file, the key, the bad value and what is allowed."""

    #: The line of ``where`` that holds ``key``, once found (``experiments.config.with_lines``).
    line: int | None = None

    def __init__(self, where: str | Path, key: str, value: Any, allowed: str, hint: str = ""):
        self.where, self.key, self.value, self.allowed, self.hint = str(where), key, value, allowed, hint
        # a key with control characters, or blank, is quoted so the message stays one line
        shown = key if key and key.isprintable() and key.strip() == key else repr(key)
        msg = f"{where}: {shown} = {value!r}: {allowed}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class ConfigErrors(ConfigError):
    """Several problems found in one file: all are reported at once."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        ValueError.__init__(self, "\n".join(str(e) for e in errors))


class ParameterRuleError(ConfigError):
    """A rule across parameters is broken (e.g. two weights that must sum to at most 1): the
    message names both keys, their values and the rule.

    TODO(lead, registry rewrite): declare cross-parameter rules in the registry (shown by
    ``borderscen params`` and checked at every sweep corner); raise this error from there.
    """

    def __init__(self, where: str | Path, keys: tuple[str, str], values: tuple[Any, Any], rule: str):
        super().__init__(where, " + ".join(keys), values, rule)
        self.keys, self.values, self.rule = keys, values, rule
        self.args = (f"{where}: {keys[0]} = {values[0]!r}, {keys[1]} = {values[1]!r}: {rule}",)


def collect(errors: list[ConfigError], check: Callable[[], object]) -> None:
    """Run one check, adding any problems it raises to ``errors``, so a file's problems are
    reported together rather than one per attempt."""
    try:
        check()
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


#: Where to find the full list, by kind of name, when it is too long to print.
LISTINGS = {"parameter": "run `borderscen params`", "evidence id": "run `borderscen evidence`"}


def unknown_name(where: str | Path, key: str, value: str, choices: Iterable[str], what: str,
                 limit: int = 12):
    choices = sorted(choices)
    listing = LISTINGS.get(what, "see the docs")
    shown = ", ".join(choices) if len(choices) <= limit else f"{len(choices)} names, {listing}"
    return ConfigError(where, key, value, f"not a known {what}; allowed: {shown}",
                       did_you_mean(value, choices))


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning syntax errors and missing files into ConfigError."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, "(file)", str(path), "is a directory; give a .toml file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", str(path), "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "(encoding)", f"byte {exc.start}", "must be UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", str(exc), "must be valid TOML") from None
    except OSError as exc:
        raise ConfigError(path, "(file)", str(path), f"cannot be read: {exc.strerror}") from None


def _model_in(annotation):
    """The pydantic model inside an annotation (Model, Model | None, tuple[Model, ...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def allowed_keys(model, loc) -> list[str]:
    """Keys a user may write at ``loc`` (its parent's public fields), for 'unknown key' errors."""
    cls = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = cls.model_fields.get(part) if cls else None
        cls = _model_in(field.annotation) if field else None
    if cls is None:
        return []
    return [name for name, f in cls.model_fields.items() if not f.exclude]


def from_pydantic(where: str | Path, exc, model=None, prefix: str = "") -> ConfigErrors:
    """Translate a pydantic ValidationError into ConfigErrors with dotted keys; unknown keys
    list what is allowed there, with a did-you-mean."""
    out = []
    for err in exc.errors():
        key = prefix + ".".join(str(p) for p in err["loc"]) if err["loc"] else prefix or "(top)"
        if err["type"] == "extra_forbidden":
            allowed = allowed_keys(model, err["loc"][:-1]) if model else []
            text = f"unknown key; allowed: {', '.join(allowed)}" if allowed else "unknown key"
            out.append(ConfigError(where, key, err.get("input"), text,
                                   did_you_mean(str(err["loc"][-1]), allowed)))
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            out.append(ConfigError(where, key, err.get("input"), msg))
    return ConfigErrors(out)
