"""Notebook-first experiments: build a config in Python, get the same validated
``ExperimentConfig`` a TOML file gives, save it back as TOML, run it.

    import borderscen as bs
    exp = bs.Experiment("camp_weight", scenarios=["baseline", {"preset": "covert_channel"}],
                        sweep=bs.lhs({"tehran_camp_initial": (0.25, 0.55)}, samples=200),
                        replications=20, horizon_months=36, seed=7)
    exp.save("experiments/camp_weight.toml"); res = exp.run()
    ds = res.to_xarray()          # dims scenario, point, replication, month

Plain dicts work too: ``bs.Experiment.from_dict({...})`` takes the TOML layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from borderscen.analysis.export import to_xarray  # noqa: F401 - part of the builder's API
from borderscen.errors import ConfigError
from borderscen.experiments.config import ExperimentConfig, parse_config

Scenario = str | Mapping[str, Any]


def _sweep(method: str, parameters: Mapping[str, Any], samples: int | None,
           policies: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """The TOML layout of a sweep. Values are passed on as given (numpy scalars unwrapped), never
    coerced: the config's checks judge them exactly as they judge a TOML file's ('0.5' or True
    for a number is refused here as there)."""
    out: dict[str, Any] = {"method": method, "parameters": {}}
    if samples is not None:
        out["samples"] = _plain(samples)
    for name, value in parameters.items():
        if isinstance(value, Mapping):
            out["parameters"][name] = _plain(value)
        elif method != "grid" and isinstance(value, Sequence) and not isinstance(value, str) \
                and len(value) == 2:
            out["parameters"][name] = {"min": _plain(value[0]), "max": _plain(value[1])}
        else:
            out["parameters"][name] = _plain(list(value) if isinstance(value, tuple | np.ndarray)
                                             else value)
    if policies:
        out["policies"] = _plain({k: dict(p) for k, p in policies.items()})
    return out


def grid(values: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """A full grid: {parameter: [values]}."""
    return _sweep("grid", values, None)


def lhs(ranges: Mapping[str, tuple[float, float] | Mapping[str, float]], samples: int = 16,
        policies: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """A Latin hypercube over {parameter: (min, max)}, optionally crossed with named policies
    {name: {lever: value}} (see borderscen.inputs.levers)."""
    return _sweep("lhs", ranges, samples, policies)


def sobol(ranges: Mapping[str, tuple[float, float]], samples: int = 64) -> dict[str, Any]:
    return _sweep("sobol", ranges, samples)


def morris(ranges: Mapping[str, tuple[float, float]], samples: int = 16) -> dict[str, Any]:
    return _sweep("morris", ranges, samples)


def _scenario(s: Scenario) -> dict[str, Any]:
    if isinstance(s, str):
        return {"preset": s}
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in s.items()}


class Experiment:
    """An experiment built in Python; ``.config`` is the validated ExperimentConfig."""

    def __init__(self, name: str, scenarios: Sequence[Scenario] = ("baseline",),
                 sweep: Mapping[str, Any] | None = None, replications: int = 20,
                 seed: int = 1, policies: Mapping[str, Mapping[str, float]] | None = None,
                 **experiment: Any):
        data: dict[str, Any] = {
            "experiment": {"name": name, "replications": _plain(replications), "seed": _plain(seed),
                           **_plain(experiment)},
            "scenarios": [_scenario(s) for s in scenarios],
        }
        if sweep is not None:
            data["sweep"] = dict(sweep)
        if policies:
            if sweep is None:
                raise ConfigError(f"Experiment({name!r})", "policies", _plain(dict(policies)),
                                  "policies are crossed with a sweep over uncertainties: pass "
                                  "sweep=bs.lhs({...}) too")
            data["sweep"]["policies"] = _plain({k: dict(v) for k, v in policies.items()})
        self._data = data
        self.config: ExperimentConfig = parse_config(data, where=f"Experiment({name!r})")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Experiment:
        """From the TOML layout as a dict ({'experiment': {...}, 'scenarios': [...], ...})."""
        exp = dict(data.get("experiment") or {})  # missing keys: the config's own message
        return cls(exp.pop("name", None), scenarios=data.get("scenarios", ("baseline",)),
                   sweep=data.get("sweep"), replications=exp.pop("replications", None),
                   seed=exp.pop("seed", None), **exp)

    def to_dict(self) -> dict[str, Any]:
        """The config as TOML would hold it (only what was given, no defaults filled in)."""
        return _plain(self._data)

    def to_toml(self) -> str:
        import tomli_w
        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_toml())
        return path

    def run(self, **kw):
        """Run (or resume) it with borderscen.run_experiment; returns the Results."""
        from borderscen.experiments.runner import run_experiment
        return run_experiment(self.config, **kw)

    def __repr__(self) -> str:
        c = self.config
        n_points = 1
        if c.sweep is not None:
            from borderscen.experiments.design import design_points
            n_points = len(design_points(c))
        return (f"Experiment({c.name!r}: {len(c.scenarios)} scenarios x {n_points} points x "
                f"{c.experiment.replications} replications)")


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
