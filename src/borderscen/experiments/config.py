"""Experiment configs (``experiments/*.toml``): schema and validation with clear messages.

Every problem names the file, the key, the bad value and what is allowed; unknown presets and
parameters get a did-you-mean.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import numbers
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from borderscen.errors import (
    ConfigError,
    ConfigErrors,
    ParameterRuleError,
    collect,
    from_pydantic,
    read_toml,
    unknown_name,
)
from borderscen.inputs.params import make_params, registry
from borderscen.inputs.scenarios import (
    Event,
    build_scenario,
    check_events,
    event_month_errors,
    history,
    month_index,
    parse_month,
    presets,
)
from borderscen.runs import DEFAULT_HORIZON, DEFAULT_START, MAX_HORIZON, OUTPUTS

OUTPUT_NAMES = tuple(o for o in OUTPUTS if o != "date")

#: Experiment and scenario names become folder names: a safe, short charset only.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = ("allowed: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit "
             "(no path separators, no '..')")
#: Caps that turn a runaway design into a clear error instead of a MemoryError.
MAX_POINTS = 100_000
MAX_RUNS = 1_000_000
#: Years a config's start may fall in.
YEARS = (1990, 2100)
#: Values of [experiment] start.
STARTS = ("filtered", "open_loop")
STARTS_RULE = ("'filtered' (continue the record assimilated to the branch month by the particle "
               "filter) or 'open_loop' (run from January 2022 without the record)")
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


def check_name(value: Any, where: str | Path = "<memory>", key: str = "name") -> str:
    """A name that is safe as a folder name, or ConfigError."""
    if not isinstance(value, str) or not NAME_RE.match(value) or ".." in value:
        raise ConfigError(where, key, value, NAME_RULE)
    return value


def _safe_name(value: Any) -> Any:
    if isinstance(value, str) and value and (not NAME_RE.match(value) or ".." in value):
        raise ValueError(NAME_RULE)
    return value


def _plain_int(value: Any) -> Any:
    """numpy integers are whole numbers too (bools are not)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


#: Strict types: a string or boolean where a number belongs is an error, not coerced.
Int = Annotated[StrictInt, BeforeValidator(_plain_int)]
Number = Annotated[StrictFloat, BeforeValidator(_plain_int)]
Value = Number | StrictBool   # a parameter value (booleans only for on/off parameters)
SafeName = Annotated[str, BeforeValidator(_safe_name)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioConfig(Strict):
    name: SafeName = ""
    preset: str = "baseline"
    overrides: dict[str, Value] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.preset


class Range(Strict):
    min: Number
    max: Number

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class SweepConfig(Strict):
    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: Int = Field(default=16, ge=1, le=100_000)
    parameters: dict[str, list[Value] | Range] = Field(min_length=1)
    #: named policies (lever = value) crossed with the sweep's points; see borderscen.inputs.levers
    policies: dict[str, dict[str, float]] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _no_empty_grid(cls, v: dict) -> dict:
        empty = [k for k, vals in v.items() if isinstance(vals, list) and not vals]
        if empty:
            raise ValueError(f"{empty[0]}: a grid needs at least one value (an empty list makes "
                             "a design with zero points)")
        return v


class ExperimentSection(Strict):
    name: Annotated[str, Field(min_length=1), BeforeValidator(_safe_name)]
    description: str = ""
    replications: Int = Field(ge=1, le=100_000)
    horizon_months: Int = Field(default=DEFAULT_HORIZON, ge=1, le=MAX_HORIZON)
    #: Where runs start: "filtered" (default): every run continues a particle of the record
    #: assimilated to the branch month (replication r of every scenario and point from particle
    #: r); "open_loop": every run from January 2022, the history replayed without the record.
    start: Literal["filtered", "open_loop"] = "filtered"
    #: With a filtered start: the fewest particles the filter runs (it runs ``max(particles,
    #: replications)``; 0: as many as replications). A cloud larger than the replications keeps a
    #: random ``replications`` of its particles: the filter's Monte Carlo error of a larger
    #: cloud, for the runs of a smaller one.
    particles: Int = Field(default=0, ge=0, le=100_000)
    #: "posterior": each replication its own draw of the calibrated parameters (paired across
    #: scenarios); "median": the posterior medians for every run.
    parameters: Literal["posterior", "median"] = "posterior"
    seed: Int = Field(ge=0)
    outputs: tuple[str, ...] = ()
    executor: Literal["serial", "process", "dask"] = "process"
    workers: Int = Field(default=0, ge=0, le=1024)
    calibration: str | None = None  # a calibrated.toml (relative to this file) applied first
    chunk_size: Int = Field(default=0, ge=0, le=10_000)

    @property
    def filter_particles(self) -> int:
        """How many particles a filtered start filters: ``max(particles, replications)``."""
        return max(self.particles, self.replications)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        if v in STARTS:
            return v
        if isinstance(v, str) and MONTH_RE.match(v):  # what the key meant before it chose the start
            raise ValueError(f"start now says what runs start from, not a month (the model's clock "
                             f"starts at {DEFAULT_START}); allowed: {STARTS_RULE}; 'open_loop' is "
                             "the earlier behaviour")
        raise ValueError(f"allowed: {STARTS_RULE}")


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
        data = self._hashed()
        data["resolved_parameters"] = [dict(scenario_of(sc, {}, self.calibration_values).params)
                                       for sc in self.scenarios]
        inputs = input_fingerprints()
        data["code"] = {k: inputs[k] for k in RESULT_INPUTS}
        if self.experiment.start == "filtered":  # the filter's code makes the runs' start
            data["filter_code"] = filter_fingerprint()
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def spec_hash(self) -> str:
        """Hash of the config alone (what the user wrote, and its calibration file), without
        the model's code, data or parameter defaults: tells a changed config from changed inputs."""
        return hashlib.sha256(json.dumps(self._hashed(), sort_keys=True).encode()).hexdigest()[:16]

    def _hashed(self) -> dict[str, Any]:
        """The config as the hashes see it: not executor, workers or description; ``particles``
        only when set (a config without it hashes as before the key existed)."""
        data = self.model_dump(mode="json")
        for key in ("executor", "workers", "description"):
            data["experiment"].pop(key, None)
        if not data["experiment"].get("particles"):
            data["experiment"].pop("particles", None)
        data["calibration_values"] = self.calibration_values
        return data

    def with_changes(self, **experiment: Any) -> ExperimentConfig:
        """A copy with fields of [experiment] replaced (e.g. fewer replications in a notebook)."""
        unknown = [k for k in experiment if k not in ExperimentSection.model_fields]
        if unknown:
            raise unknown_name("with_changes", unknown[0], unknown[0],
                               ExperimentSection.model_fields, "experiment key")
        data = {**self.experiment.model_dump(), **{k: _plain_int(v) for k, v in experiment.items()}}
        try:
            section = ExperimentSection.model_validate(data)
        except ValidationError as exc:
            raise from_pydantic("with_changes", exc, ExperimentSection) from None
        changed = self.model_copy(update={"experiment": section})
        check_config(changed, f"{self.source} (with_changes)")  # e.g. a shorter horizon vs events
        return changed


#: Parts of the package that cannot change a run's results (figures, analysis, the CLI).
NOT_IN_RESULTS = ("plots", "analysis", "assimilation", "interfaces", "__init__.py")


#: Inputs of the results that are hashed on their own, so a change can be named (package paths).
INPUT_FILES = {"registry": "data/parameters.toml", "history": "data/history.toml",
               "posterior": "data/posterior.csv"}
#: Fingerprints that determine the results (in the config hash); the versions are recorded and
#: checked on resume but do not make finished results stale.
RESULT_INPUTS = ("code", *INPUT_FILES)
INPUT_LABELS = {"code": "the model's code and data tables (src/borderscen: *.py, *.toml)",
                "registry": "the parameter registry (src/borderscen/data/parameters.toml)",
                "history": "the history file (src/borderscen/data/history.toml)",
                "posterior": "the shipped posterior (src/borderscen/data/posterior.csv)",
                "borderscen": "the borderscen version", "python": "the Python version",
                "numpy": "the numpy version"}


def _input_files() -> dict[str, Path]:
    root = Path(__file__).resolve().parents[1]
    return {name: root / rel for name, rel in INPUT_FILES.items()}


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    import numpy
    try:
        own = metadata.version("borderscen")
    except metadata.PackageNotFoundError:
        own = "0+unknown"
    return {"borderscen": own, "python": platform.python_version(), "numpy": numpy.__version__}


def input_fingerprints() -> dict[str, str]:
    """What a batch's results rest on besides its config: the model's code, the parameter
    registry, the history, the shipped posterior (hashes) and the library, Python and numpy
    versions. Recorded in progress.json and the manifest; a resume compares them."""
    return {"code": code_fingerprint(), **{k: _file_hash(p) for k, p in _input_files().items()},
            **_versions()}


@functools.cache
def code_fingerprint() -> str:
    """Hash of the source and data files that produce results (model, mechanisms, data, runner),
    besides the INPUT_FILES, which are hashed on their own."""
    root = Path(__file__).resolve().parents[1]
    own = {Path(rel) for rel in INPUT_FILES.values()}
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.relative_to(root).parts[0] in NOT_IN_RESULTS or path.relative_to(root) in own:
            continue
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


#: Modules outside the results' code fingerprint that make a filtered start.
FILTER_FILES = ("assimilation/filter.py", "assimilation/observe.py", "analysis/calibration.py")


@functools.cache
def filter_fingerprint() -> str:
    """Hash of the particle filter's code (in the config hash of a filtered start)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for rel in FILTER_FILES:
        digest.update(rel.encode())
        digest.update((root / rel).read_bytes())
    return digest.hexdigest()[:16]


def _check_semantics(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    reg, table = registry(), presets()

    def guard(check) -> None:
        collect(errors, check)

    for i, out in enumerate(cfg.experiment.outputs):
        if out not in OUTPUT_NAMES:
            errors.append(unknown_name(where, f"experiment.outputs[{i}]", out, OUTPUT_NAMES, "output"))
        elif cfg.experiment.outputs.index(out) != i:
            errors.append(ConfigError(where, f"experiment.outputs[{i}]", out, "listed twice"))
    errors.extend(_check_horizon(cfg, where))
    errors.extend(_check_start(cfg, where))
    errors.extend(_check_ambiguous(cfg, where))
    errors.extend(_check_booleans(cfg, where))
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
        from borderscen.inputs.levers import check_policies
        errors += check_policies(cfg.sweep, where)
    if cfg.sweep and not errors:
        errors.extend(_check_corners(cfg, where))
    return errors


MAX_CORNER_DIMS = 12


def _check_corners(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    """Rules across parameters (checked when parameters are built) must hold at every corner of
    the sweep box, under every scenario: a batch must not fail half way on a corner."""
    sweep = cfg.sweep
    if sweep is None:
        return []
    names = list(sweep.parameters)[:MAX_CORNER_DIMS]
    bounds = []
    for n in names:
        v = sweep.parameters[n]
        bounds.append((min(v), max(v)) if isinstance(v, list) else (v.min, v.max))
    errors: list[ConfigError] = []
    for sc in cfg.scenarios:
        for corner in itertools.product(*bounds):
            point = dict(zip(names, corner, strict=True))
            try:
                scenario_of(sc, point, cfg.calibration_values, where=where)
            except ParameterRuleError as exc:
                errors.append(ParameterRuleError(where, exc.keys, exc.values,
                                                 f"{exc.rule} (at the sweep corner {point}, "
                                                 f"scenario {sc.label})"))
                break
            except ConfigError as exc:
                errors.append(ConfigError(where, f"sweep.parameters (scenario {sc.label}, corner "
                                                 f"{point})", "", str(exc).split(": ", 1)[-1]))
                break
    return errors


def _check_horizon(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    """Dated events must fall inside the run's months (the check ``simulate`` makes too)."""
    exp = cfg.experiment
    return [e for i, sc in enumerate(cfg.scenarios)
            for e in event_month_errors(sc.events, exp.horizon_months, where,
                                        f"scenarios[{i}].events", DEFAULT_START)]


def _check_start(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    """A filtered start gives each replication its particle's parameters and history: posterior
    medians for every run cannot hold, and an event before the branch month would never act."""
    exp = cfg.experiment
    if exp.start != "filtered":
        return [] if not exp.particles else [ConfigError(
            where, "experiment.particles", exp.particles,
            "allowed with start = 'filtered' only (an open-loop run filters nothing); remove it, "
            "or set start = 'filtered'")]
    errors = []
    if exp.parameters == "median":
        errors.append(ConfigError(where, "experiment.start", exp.start,
                                  "allowed with parameters = 'median': 'open_loop' only (a filtered "
                                  "start gives each replication the parameters of its particle); set "
                                  "start = 'open_loop' or parameters = 'posterior'"))
    branch, first = history().branch, parse_month(DEFAULT_START)
    for i, sc in enumerate(cfg.scenarios):
        for j, ev in enumerate(sc.events):
            # an event outside the run's months has its own message (_check_horizon)
            if ev.month < branch and 0 <= month_index(ev.month, first) < exp.horizon_months:
                errors.append(ConfigError(
                    where, f"scenarios[{i}].events[{j}].date", ev.date,
                    f"allowed with start = 'filtered': {branch:%Y-%m} (the branch month) or later; "
                    "before it every run follows the filtered record, so the event would never "
                    "act; move it, or set start = 'open_loop'"))
    return errors


def _check_ambiguous(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    """A parameter a scenario overrides may not also be swept or set by a policy: the point's
    value would silently replace the override."""
    if cfg.sweep is None:
        return []
    by: dict[str, str] = {name: "swept in [sweep.parameters]" for name in cfg.sweep.parameters}
    for policy, levers in cfg.sweep.policies.items():
        for lever in levers:
            by.setdefault(lever, f"set by the policy {policy!r} in [sweep.policies]")
    return [ConfigError(where, f"scenarios[{i}].overrides.{name}", value,
                        f"{name} is also {by[name]}; one of the two would silently win: "
                        "override it or sweep it, not both")
            for i, sc in enumerate(cfg.scenarios) for name, value in sc.overrides.items()
            if name in by]


def _check_booleans(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    """true/false only for on/off parameters; anywhere else a boolean is a mistake."""
    reg = registry()
    found: list[tuple[str, str, Any]] = []
    for i, sc in enumerate(cfg.scenarios):
        found += [(f"scenarios[{i}].overrides.{k}", k, v) for k, v in sc.overrides.items()]
    if cfg.sweep:
        for k, vals in cfg.sweep.parameters.items():
            if isinstance(vals, list):
                found += [(f"sweep.parameters.{k}[{j}]", k, v) for j, v in enumerate(vals)]
    return [ConfigError(where, key, v, reg[name].allowed() if name in reg else "a number",
                        "a boolean where a number belongs")
            for key, name, v in found
            if isinstance(v, bool) and name in reg and reg[name].kind != "bool"]


def _check_raw_events(data: dict[str, Any], where: str) -> list[ConfigError]:
    """Event values are checked before the event schema could coerce '0.5' or true to a number."""
    reg = registry()
    errors = []
    scenarios = data.get("scenarios")
    for i, sc in enumerate(scenarios if isinstance(scenarios, list) else []):
        events = sc.get("events") if isinstance(sc, dict) else None
        for j, ev in enumerate(events if isinstance(events, list) else []):
            changes = ev.get("set") if isinstance(ev, dict) else None
            for name, v in (changes.items() if isinstance(changes, dict) else []):
                key = f"scenarios[{i}].events[{j}].set.{name}"
                is_bool_param = name in reg and reg[name].kind == "bool"
                if isinstance(v, str) or (isinstance(v, bool) and not is_bool_param):
                    allowed = reg[name].allowed() if name in reg else "allowed: a number"
                    errors.append(ConfigError(where, key, v, allowed, "no quotes around numbers"
                                              if isinstance(v, str) else "a boolean where a "
                                              "number belongs"))
    return errors


def design_size(cfg: ExperimentConfig) -> tuple[int, int]:
    """(points, runs) of the design, computed without building it."""
    sweep = cfg.sweep
    if sweep is None:
        points = 1
    elif sweep.method == "grid":
        points = math.prod(len(v) for v in sweep.parameters.values() if isinstance(v, list))
    elif sweep.method == "lhs":
        points = sweep.samples
    elif sweep.method == "sobol":
        points = sweep.samples * (len(sweep.parameters) + 2)
    else:  # morris
        points = sweep.samples * (len(sweep.parameters) + 1)
    return points, points * len(cfg.scenarios) * cfg.experiment.replications


def _check_size(cfg: ExperimentConfig, where: str) -> list[ConfigError]:
    points, runs = design_size(cfg)
    if points == 0 or runs == 0:
        return [ConfigError(where, "sweep.parameters", "...", "the design has zero points")]
    if points > MAX_POINTS:
        return [ConfigError(where, "sweep", f"{points:,} points",
                            f"allowed: at most {MAX_POINTS:,} design points; use fewer values or "
                            "an lhs/sobol sample")]
    if runs > MAX_RUNS:
        return [ConfigError(where, "experiment.replications", cfg.experiment.replications,
                            f"allowed: at most {MAX_RUNS:,} runs in one experiment; this design "
                            f"has {runs:,} ({len(cfg.scenarios)} scenarios x {points:,} points x "
                            f"{cfg.experiment.replications} replications)")]
    return []


#: Keys the library fills in itself; a config file may not set them.
INTERNAL_KEYS = ("source", "calibration_values")


def parse_config(data: dict[str, Any], where: str = "<memory>") -> ExperimentConfig:
    """Validate a config mapping (as read from TOML)."""
    where = str(where)
    if not isinstance(data, dict):
        raise ConfigError(where, "(top)", type(data).__name__, "a config is a table of "
                                                               "[experiment], [[scenarios]], [sweep]")
    allowed = [k for k in ExperimentConfig.model_fields if k not in INTERNAL_KEYS]
    for key in INTERNAL_KEYS:
        if key in data:
            raise ConfigError(where, key, data[key], f"unknown key; allowed: {', '.join(allowed)}")
    raw_errors = _check_raw_events(data, where)
    try:
        cfg = ExperimentConfig.model_validate({**data, "source": where})
    except ValidationError as exc:
        errs = from_pydantic(where, exc, ExperimentConfig)
        raise ConfigErrors(raw_errors + errs.errors) from None
    if raw_errors:
        raise ConfigErrors(raw_errors)
    if cfg.experiment.calibration:
        from borderscen.inputs.params import load_calibrated
        base = Path(where).parent if where != "<memory>" else Path.cwd()
        path = base / cfg.experiment.calibration
        try:
            values = load_calibrated(path)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed file is a config error, not a crash
            raise ConfigError(where, "experiment.calibration", cfg.experiment.calibration,
                              "must be a calibrated.toml written by `borderscen calibrate` "
                              f"([parameters] of numbers); reading it failed: {exc}") from None
        cfg = cfg.model_copy(update={"calibration_values": values})
    check_config(cfg, where)
    return cfg


def check_config(cfg: ExperimentConfig, where: str | None = None) -> ExperimentConfig:
    """Every check ``parse_config`` makes beyond the schema, for a config that did not come
    through it (built as ``ExperimentConfig(...)``, or changed with ``with_changes``):
    ``run_experiment`` calls it, so a config is judged the same way however it was made."""
    where = str(where or cfg.source)
    errors = _check_semantics(cfg, where) + _check_size(cfg, where)
    if errors:
        raise ConfigErrors(errors)
    return cfg


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment config file (errors name the TOML line where they can)."""
    data = read_toml(path)
    try:
        return parse_config(data, where=str(path))
    except ConfigError as exc:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise exc from None
        raise with_lines(exc, text, str(path)) from None


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]", re.M)


def line_of(text: str, key: str) -> int | None:
    """The TOML line a dotted key (``scenarios[1].overrides.x``) was most likely written on:
    the n-th ``[[array]]`` header for an index, then the first ``leaf =`` after it."""
    pos = 0
    parts = [p for p in re.split(r"\.(?![^\[]*\])", key) if p]
    for part in parts[:-1]:
        m = re.fullmatch(r"([A-Za-z0-9_]+)\[(\d+)\]", part)
        if m:
            headers = [h for h in _HEADER.finditer(text) if h.group(1) == m.group(1)]
            if int(m.group(2)) < len(headers):
                pos = headers[int(m.group(2))].start()
    leaf = re.sub(r"\[\d+\]$", "", parts[-1]) if parts else ""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", leaf):
        return None
    found = re.compile(rf"(^|[{{,\s]){re.escape(leaf)}\s*=", re.M).search(text, pos)
    return text.count("\n", 0, found.start()) + 1 + (found.group(1) == "\n") if found else None


def with_lines(exc: ConfigError, text: str, where: str) -> ConfigError:
    """The same error(s), each message starting ``file:line:`` where the line is found."""
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    for e in errors:
        line = line_of(text, e.key) if e.where == where else None
        if line and e.args and str(e.args[0]).startswith(f"{where}: "):
            e.line = line
            e.args = (f"{where}:{line}: " + str(e.args[0])[len(where) + 2:],)
    if isinstance(exc, ConfigErrors):
        exc.args = ("\n".join(str(e) for e in errors),)
    return exc


def scenario_of(sc: ScenarioConfig, point: dict[str, float] | None = None,
                calibration: dict[str, float] | None = None, where: str | Path = "build_scenario"):
    """The model scenario for a config entry at one design point (calibration applied first)."""
    overrides = {**(calibration or {}), **sc.overrides, **(point or {})}
    return build_scenario(sc.preset, overrides, sc.events, name=sc.label, where=where)
