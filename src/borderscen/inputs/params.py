"""Parameter registry: every model number with its range, unit, meaning and provenance.

The registry lives in ``data/parameters.toml``. Each parameter rests on evidence ids from the
seeds catalogue, or carries an explicit assumption with a reason, or both.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from borderscen.errors import ConfigError, ConfigErrors, collect, from_pydantic, read_toml, unknown_name
from borderscen.inputs.evidence import Catalogue, catalogue

REGISTRY_FILE = "parameters.toml"
#: Initial-condition parameters cannot be changed mid-run by a dated event.
INITIAL_SUFFIX = "_initial"
#: Political weights of the two Shia camps must leave room for the Kurdish and Sunni blocs.
MAX_SHIA_CAMPS_WEIGHT = 0.95


class Prior(BaseModel):
    """A calibrated parameter's ABC prior: uniform on [min, max], or uniform in log (``log``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["uniform", "log"]
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.min < self.max:
            raise ValueError(f"prior min {self.min:g} must be below its max {self.max:g}")
        if self.kind == "log" and self.min <= 0:
            raise ValueError(f"a log prior needs min > 0, not {self.min:g}")
        return self


class ParamSpec(BaseModel):
    """One registry entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    default: float
    min: float
    max: float
    unit: str
    group: str
    meaning: str
    kind: Literal["float", "int", "bool"] = "float"
    evidence: tuple[str, ...] = ()
    assumption: str | None = None
    calibrate: bool = False
    #: the ABC prior of a calibrated parameter (inside [min, max]); the one place priors live
    prior: Prior | None = None
    role: Literal["lever", "uncertainty"] = "uncertainty"

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} outside [{self.min}, {self.max}]")
        if not self.evidence and not self.assumption:
            raise ValueError("needs evidence ids or an assumption with a reason")
        if self.calibrate != (self.prior is not None):
            raise ValueError("a calibrated parameter (calibrate = true) needs a prior = { kind = "
                             "'uniform' or 'log', min = .., max = .. }, and only it has one")
        if self.prior and not self.min <= self.prior.min < self.prior.max <= self.max:
            raise ValueError(f"prior [{self.prior.min:g}, {self.prior.max:g}] outside the range "
                             f"[{self.min:g}, {self.max:g}]")
        return self

    @property
    def provenance(self) -> str:
        if self.evidence and self.assumption:
            return "evidence+assumption"
        return "evidence" if self.evidence else "assumption"

    @property
    def is_initial(self) -> bool:
        return self.name.endswith(INITIAL_SUFFIX)

    def allowed(self) -> str:
        if self.kind == "bool":
            return "allowed: 0 or 1 (or true/false)"
        what = "a whole number" if self.kind == "int" else "a number"
        return f"allowed: {what} in [{self.min:g}, {self.max:g}] {self.unit}"

    def coerce(self, value: Any, where: str | Path, key: str) -> float:
        """Check one value against this spec; return it as the model's float."""
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int | float) or isinstance(value, float) and math.isnan(value):
            raise ConfigError(where, key, value, self.allowed())
        if self.kind in ("int", "bool") and float(value) != int(value):
            raise ConfigError(where, key, value, self.allowed())
        if not self.min <= value <= self.max:
            raise ConfigError(where, key, value, self.allowed())
        return float(value)


def registry_path() -> Path:
    return Path(str(resources.files("borderscen") / "data" / REGISTRY_FILE))


def load_registry(path: str | Path | None = None, cat: Catalogue | None = None) -> dict[str, ParamSpec]:
    """Load the registry and check every cited evidence id exists."""
    path = Path(path) if path else registry_path()
    cat = cat or catalogue()
    specs: dict[str, ParamSpec] = {}
    errors: list[ConfigError] = []
    for name, raw in read_toml(path).items():
        try:
            spec = ParamSpec.model_validate({"name": name, **raw})
        except ValidationError as exc:
            errors.extend(from_pydantic(path, exc, ParamSpec, prefix=f"{name}.").errors)
            continue
        collect(errors, functools.partial(cat.require, spec.evidence, path, f"{spec.name}.evidence"))
        specs[name] = spec
    if errors:
        raise ConfigErrors(errors)
    return specs


@functools.cache
def registry() -> dict[str, ParamSpec]:
    """The package's registry, loaded once per process.

    >>> spec = registry()["coalition_isr"]
    >>> (spec.min, spec.max), spec.unit, spec.provenance
    ((0.0, 1.0), 'detection probability', 'evidence+assumption')
    """
    return load_registry()


def calibration_priors() -> dict[str, Prior]:
    """The ABC priors of the calibrated parameters (``calibrate = true``), in registry order."""
    return {name: spec.prior for name, spec in registry().items() if spec.prior is not None}


class Parameters(Mapping[str, float]):
    """A full, validated parameter set. Read as attributes (``p.attack_rate``) or as a mapping."""

    def __init__(self, values: Mapping[str, float]):
        self.__dict__.update(values)

    def __getitem__(self, name: str) -> float:
        return self.__dict__[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.items() if v != registry()[k].default}
        return f"Parameters({len(self)} values; differs from defaults: {changed})"

    def updated(self, changes: Mapping[str, Any], where: str | Path = "overrides") -> Parameters:
        """A copy with ``changes`` applied and validated."""
        return make_params(changes, where=where, base=self)

    def set_in_place(self, name: str, value: float) -> None:
        """Used by dated events during a run (values are validated when the event is built)."""
        self.__dict__[name] = value


def check_names(changes: Mapping[str, Any], where: str | Path, prefix: str = "") -> None:
    reg = registry()
    for name in changes:
        if name not in reg:
            raise unknown_name(where, prefix + name, name, reg, "parameter")


def make_params(changes: Mapping[str, Any] | None = None, where: str | Path = "overrides",
                base: Mapping[str, float] | None = None, prefix: str = "") -> Parameters:
    """Defaults (or ``base``) with ``changes`` applied; every change checked against the registry."""
    reg = registry()
    changes = dict(changes or {})
    values = dict(base) if base is not None else {n: s.default for n, s in reg.items()}
    errors: list[ConfigError] = []
    for name, value in changes.items():
        if name not in reg:
            errors.append(unknown_name(where, prefix + name, name, reg, "parameter"))
            continue
        try:
            values[name] = reg[name].coerce(value, where, prefix + name)
        except ConfigError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    shia = values["tehran_camp_initial"] + values["pragmatic_camp_initial"]
    if shia > MAX_SHIA_CAMPS_WEIGHT:
        raise ConfigError(where, prefix + "tehran_camp_initial + pragmatic_camp_initial", shia,
                          f"allowed: at most {MAX_SHIA_CAMPS_WEIGHT} (the Kurdish and Sunni blocs "
                          "hold the rest)")
    return Parameters(values)


def load_calibrated(path: str | Path) -> dict[str, float]:
    """Parameter values from a calibrated.toml (written by `borderscen calibrate`), validated
    against the registry. Here, not in analysis, so configs read it without importing upward."""
    data = read_toml(path)
    if "parameters" not in data:
        raise ConfigError(path, "parameters", None, "a calibration file needs a [parameters] table")
    values = dict(data["parameters"])
    make_params(values, where=path, prefix="parameters.")
    return {k: float(v) for k, v in values.items()}
