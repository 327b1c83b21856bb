"""Experiment configs (``experiments/*.toml``): schema and validation with clear messages.

Every problem names the file, the key, the bad value and what is allowed; unknown presets and
parameters get a did-you-mean.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from borderscen.errors import ConfigError, ConfigErrors, collect, from_pydantic, read_toml, unknown_name
from borderscen.model import DEFAULT_HORIZON, DEFAULT_START, MAX_HORIZON, OUTPUTS
from borderscen.params import make_params, registry
from borderscen.scenarios import Event, build_scenario, check_events, parse_month, presets

OUTPUT_NAMES = tuple(o for o in OUTPUTS if o != "date")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioConfig(Strict):
    name: str = ""
    preset: str = "baseline"
    overrides: dict[str, float] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.preset


class Range(Strict):
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class SweepConfig(Strict):
    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int = Field(default=16, ge=1, le=100_000)
    parameters: dict[str, list[float] | Range] = Field(min_length=1)
    #: named policies (lever = value) crossed with the sweep's points; see borderscen.levers
    policies: dict[str, dict[str, float]] = Field(default_factory=dict)


class ExperimentSection(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    replications: int = Field(ge=1, le=100_000)
    horizon_months: int = Field(default=DEFAULT_HORIZON, ge=1, le=MAX_HORIZON)
    start: str = DEFAULT_START
    #: "posterior": each replication its own draw of the calibrated parameters (paired across
    #: scenarios); "median": the posterior medians for every run.
    parameters: Literal["posterior", "median"] = "posterior"
    seed: int = Field(ge=0)
    outputs: tuple[str, ...] = ()
    executor: Literal["serial", "process", "dask"] = "process"
    workers: int = Field(default=0, ge=0, le=1024)
    calibration: str | None = None  # a calibrated.toml (relative to this file) applied first
    chunk_size: int = Field(default=0, ge=0, le=10_000)

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        parse_month(v)
        if v != DEFAULT_START:
            raise ValueError(f"the model's clock starts at {DEFAULT_START} (the history is replayed "
                             "from there); horizon_months counts from it")
        return v


class ExperimentConfig(Strict):
    """A whole config file: the experiment, its scenarios and an optional sweep."""

    experiment: ExperimentSection
    scenarios: tuple[ScenarioConfig, ...] = Field(min_length=1)
    sweep: SweepConfig | None = None
    source: str = Field(default="<memory>", exclude=True)
    #: values read from [experiment].calibration (added to the hash and manifest explicitly)
    calibration_values: dict[str, float] = Field(default_factory=dict, exclude=True)

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.experiment.outputs or OUTPUT_NAMES

    @property
    def swept(self) -> tuple[str, ...]:
        return tuple(self.sweep.parameters) if self.sweep else ()

    def content_hash(self) -> str:
        """Hash of what determines the results: the config (not executor, workers or
        description), every scenario's resolved parameters, and the model's code and data, so
        finished results are reused, and batches resumed, only when nothing that matters changed."""
        data = self.model_dump(mode="json")
        for key in ("executor", "workers", "description"):
            data["experiment"].pop(key, None)
        data["calibration_values"] = self.calibration_values
        data["resolved_parameters"] = [dict(scenario_of(sc, {}, self.calibration_values).params)
                                       for sc in self.scenarios]
        data["code"] = code_fingerprint()
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def with_changes(self, **experiment: Any) -> ExperimentConfig:
        """A copy with fields of [experiment] replaced (e.g. fewer replications in a notebook)."""
        section = self.experiment.model_copy(update=experiment)
        return self.model_copy(update={"experiment": ExperimentSection.model_validate(
            section.model_dump())})


#: Parts of the package that cannot change a run's results (figures, analysis, the CLI).
NOT_IN_RESULTS = ("plots", "analysis", "cli.py", "reproduce.py", "__init__.py", "cli_explore.py", "ema.py",
                  "builder.py")


@functools.cache
def code_fingerprint() -> str:
    """Hash of the source and data files that produce results (model, mechanisms, data, runner)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.relative_to(root).parts[0] in NOT_IN_RESULTS:
            continue
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _check_semantics(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    reg, table = registry(), presets()

    def guard(check) -> None:
        collect(errors, check)

    for i, out in enumerate(cfg.experiment.outputs):
        if out not in OUTPUT_NAMES:
            errors.append(unknown_name(where, f"experiment.outputs[{i}]", out, OUTPUT_NAMES, "output"))
    labels = [s.label for s in cfg.scenarios]
    for i, sc in enumerate(cfg.scenarios):
        key = f"scenarios[{i}]"
        if sc.preset not in table:
            errors.append(unknown_name(where, f"{key}.preset", sc.preset, table, "preset"))
        if labels.count(sc.label) > 1:
            errors.append(ConfigError(where, f"{key}.name", sc.label,
                                      "scenario names must be unique (add name = \"...\")"))
        guard(lambda sc=sc, key=key: make_params(sc.overrides, where=where,
                                                 prefix=f"{key}.overrides."))
        guard(lambda sc=sc, key=key: check_events(sc.events, where, f"{key}.events"))
    if cfg.sweep:
        for name, values in cfg.sweep.parameters.items():
            key = f"sweep.parameters.{name}"
            if name not in reg:
                errors.append(unknown_name(where, key, name, reg, "parameter"))
                continue
            if cfg.sweep.method == "grid" and not isinstance(values, list):
                errors.append(ConfigError(where, key, values.model_dump(),
                                          "a grid sweep takes a list of values"))
                continue
            if cfg.sweep.method != "grid" and not isinstance(values, Range):
                errors.append(ConfigError(where, key, values,
                                          f"a {cfg.sweep.method} sweep takes {{ min = .., max = .. }}"))
                continue
            points = values if isinstance(values, list) else [values.min, values.max]
            for v in points:
                guard(lambda v=v, key=key, name=name: reg[name].coerce(v, where, key))
    if cfg.sweep and cfg.sweep.policies:
        from borderscen.levers import check_policies
        errors += check_policies(cfg.sweep, where)
    return errors


def parse_config(data: dict[str, Any], where: str = "<memory>") -> ExperimentConfig:
    """Validate a config mapping (as read from TOML)."""
    if "calibration_values" in data:
        raise ConfigError(where, "calibration_values", "...", "unknown key")
    try:
        cfg = ExperimentConfig.model_validate({**data, "source": where})
    except ValidationError as exc:
        raise from_pydantic(where, exc, ExperimentConfig) from None
    if cfg.experiment.calibration:
        from borderscen.analysis.calibration import load_calibrated
        base = Path(where).parent if where != "<memory>" else Path.cwd()
        values = load_calibrated(base / cfg.experiment.calibration)
        cfg = cfg.model_copy(update={"calibration_values": values})
    errors = _check_semantics(cfg, where)
    if errors:
        raise ConfigErrors(errors)
    return cfg


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment config file."""
    return parse_config(read_toml(path), where=str(path))


def scenario_of(sc: ScenarioConfig, point: dict[str, float] | None = None,
                calibration: dict[str, float] | None = None):
    """The model scenario for a config entry at one design point (calibration applied first)."""
    overrides = {**(calibration or {}), **sc.overrides, **(point or {})}
    return build_scenario(sc.preset, overrides, sc.events, name=sc.label)
