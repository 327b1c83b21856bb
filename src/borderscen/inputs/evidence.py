"""The project's catalogue of sources and the evidence table drawn from them (seeds/).

Every parameter, preset change and calibration target cites evidence ids from this table.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borderscen.errors import ConfigError, ConfigErrors, from_pydantic, read_toml, unknown_name


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    outlet: str
    date: str
    language: str
    kind: str
    summary: str
    url: str | None = None


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: Literal["figure", "event", "stance", "mechanism", "scenario"]
    sources: list[str] = Field(min_length=1)
    claim: str
    value: float | int | str | list[float | int | str] | None = None
    unit: str | None = None
    qualifier: str | None = None
    period: str | None = None
    note: str | None = None


class Catalogue(BaseModel):
    sources: dict[str, Source]
    evidence: dict[str, Evidence]

    def require(self, ids: Iterable[str], where: str | Path, key: str) -> None:
        """Raise ConfigError for the first evidence id that is not in the table."""
        for eid in ids:
            if eid not in self.evidence:
                raise unknown_name(where, key, eid, self.evidence, "evidence id")


def seeds_dir() -> Path:
    """Where the catalogue lives: $BORDERSCEN_SEEDS, the installed copy, or the repo's seeds/."""
    if env := os.environ.get("BORDERSCEN_SEEDS"):
        return Path(env)
    installed = resources.files("borderscen") / "_seeds"
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[3] / "seeds"


def _entries[M: (Source, Evidence)](path: Path, table: str, model: type[M]) -> dict[str, M]:
    data = read_toml(path)
    extra = set(data) - {table}
    if extra:
        raise ConfigError(path, sorted(extra)[0], "...", f"unknown top-level key; allowed: {table}")
    out: dict[str, M] = {}
    errors: list[ConfigError] = []
    for i, raw in enumerate(data.get(table, [])):
        try:
            entry = model.model_validate(raw)
        except ValidationError as exc:
            errors.extend(from_pydantic(path, exc, model, prefix=f"{table}[{i}].").errors)
            continue
        if entry.id in out:
            errors.append(ConfigError(path, f"{table}[{i}].id", entry.id, "ids must be unique"))
        out[entry.id] = entry
    if errors:
        raise ConfigErrors(errors)
    return out


def load_catalogue(directory: str | Path | None = None) -> Catalogue:
    """Load and cross-check the catalogue: ``sources*.toml`` and ``evidence*.toml``.

    ``sources.toml`` and ``evidence.toml`` hold the five articles and what we draw from them;
    further files (``sources-public.toml``, ``evidence-record.toml``, ...) hold the public record.
    Ids must be unique across files.
    """
    directory = Path(directory) if directory else seeds_dir()
    sources = _merged(directory, "sources", "source", Source)
    evidence = _merged(directory, "evidence", "evidence", Evidence)
    for i, ev in enumerate(evidence.values()):
        for sid in ev.sources:
            if sid not in sources:
                raise unknown_name(directory / "evidence.toml", f"evidence[{i}].sources", sid,
                                   sources, "source id")
    return Catalogue(sources=sources, evidence=evidence)


def _merged[M: (Source, Evidence)](directory: Path, stem: str, table: str,
                                   model: type[M]) -> dict[str, M]:
    out: dict[str, M] = {}
    for path in sorted(directory.glob(f"{stem}*.toml")):
        for key, entry in _entries(path, table, model).items():
            if key in out:
                raise ConfigError(path, f"{table}.id", key, "ids must be unique across catalogue files")
            out[key] = entry
    return out


@functools.cache
def catalogue() -> Catalogue:
    """The project's catalogue, loaded once per process."""
    return load_catalogue()
