"""Calibration of the free parameters to the sources' figures by rejection ABC (Pritchard et al.
1999; Beaumont et al. 2002) over a Latin-hypercube sample of uniform priors.

Each prior draw is simulated a few times under common seeds; its summary statistics (means over
replications) are compared with target intervals from the evidence table, through the
observation layer (reported, not true, attacks). The distance is zero inside every interval
(the non-implausible region, as in history matching); the draws with the smallest distances are
the posterior sample.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from borderscen.analysis.sampling import Variant, sample
from borderscen.errors import ConfigError, read_toml
from borderscen.params import make_params, registry

Statistic = Callable[[pd.DataFrame, dict], float]


@dataclass(frozen=True)
class Target:
    name: str
    evidence: tuple[str, ...]
    low: float
    high: float
    statistic: Statistic
    description: str
    label: str = ""


def _share_limited(ts: pd.DataFrame, summary: dict) -> float:
    return float((ts["regime"].iloc[:24] == "limited").mean())


def _neutralised_per_operation(ts: pd.DataFrame, summary: dict) -> float:
    return float(ts["isis_neutralised"].iloc[:12].sum() / max(ts["operations"].iloc[:12].sum(), 1))


def _tempo_ratio(ts: pd.DataFrame, summary: dict) -> float:
    first, second = ts["attacks_reported"].iloc[:6].sum(), ts["attacks_reported"].iloc[6:12].sum()
    return float(second / max(first, 1))


TARGETS: tuple[Target, ...] = (
    Target("obs_reported_attacks_h1", ("attacks-2024h1",), 153, 230,
           lambda ts, s: float(ts["attacks_reported"].iloc[:6].sum()),
           "Reported attacks in the first six months with the coalition present: more than 153 "
           "(H1 2024); upper bound 230 (+50%) is our assumption for a still-rising tempo.",
           label="reported attacks, months 1-6"),
    Target("obs_tempo_ratio", ("attacks-2023", "attacks-2024h1"), 1.0, 1.6, _tempo_ratio,
           "Reported attacks in months 7-12 over months 1-6: the tempo was rising (120 in 2023, "
           ">153 in H1 2024); the upper bound 1.6 is our assumption.",
           label="reported attacks, months 7-12 / 1-6"),
    Target("obs_neutralised_per_op", ("neutralised-per-operation",), 5, 10,
           _neutralised_per_operation,
           "Members killed or arrested per operation in the first year: 5-10.",
           label="neutralised per operation, year 1"),
    Target("obs_coalition_ops_h1", ("joint-ops-2024h1",), 120, 155,
           lambda ts, s: float(ts["coalition_operations"].iloc[:6].sum()),
           "Joint US-Iraqi operations in six months: 137 (H1 2024), +-10% plus Poisson noise.",
           label="joint US-Iraqi operations, months 1-6"),
    Target("obs_limited_share_24m", ("scenario-limited", "analyst-limited-ties"), 0.5, 1.0,
           _share_limited,
           "Share of the first two years in 'limited': the most likely near-term regime.",
           label="share of months 1-24 in limited"),
)

#: Uniform prior ranges of the free parameters (within their registry ranges).
PRIORS: dict[str, tuple[float, float]] = {
    "coalition_isr": (0.2, 0.7),
    "intel_sharing_quality": (0.1, 0.6),
    "neutralised_per_operation": (8.0, 35.0),
    "recruitment_rate": (0.0002, 0.0008),
    "attack_rate": (0.4, 1.6),
    "baghdad_openness_bias": (-1.5, 1.0),
    "damascus_willingness_bias": (-1.0, 1.5),
}
HORIZON = 24  # months: every target is read from the first two years


def distance(stats: np.ndarray, targets: Sequence[Target] = TARGETS) -> np.ndarray:
    """Euclidean distance outside the target intervals, each scaled by its interval width."""
    lo = np.array([t.low for t in targets])
    hi = np.array([t.high for t in targets])
    outside = np.maximum(lo - stats, 0) + np.maximum(stats - hi, 0)
    return np.sqrt(((outside / (hi - lo)) ** 2).sum(axis=-1))


@dataclass
class Calibration:
    draws: pd.DataFrame          # prior draws with their statistics and distance
    accepted: pd.DataFrame       # the posterior sample
    targets: tuple[Target, ...]

    def posterior(self) -> pd.DataFrame:
        names = list(PRIORS)
        post = self.accepted[names]
        return pd.DataFrame({"median": post.median(), "q05": post.quantile(0.05),
                             "q95": post.quantile(0.95), "prior_low": [PRIORS[n][0] for n in names],
                             "prior_high": [PRIORS[n][1] for n in names]})

    def fit(self) -> pd.DataFrame:
        rows = []
        for t in self.targets:
            rows.append({"target": t.name, "label": t.label, "low": t.low, "high": t.high,
                         "prior_median": self.draws[t.name].median(),
                         "prior_q05": self.draws[t.name].quantile(0.05),
                         "prior_q95": self.draws[t.name].quantile(0.95),
                         "posterior_median": self.accepted[t.name].median(),
                         "posterior_q05": self.accepted[t.name].quantile(0.05),
                         "posterior_q95": self.accepted[t.name].quantile(0.95),
                         "evidence": ", ".join(t.evidence)})
        return pd.DataFrame(rows)


def calibrate(samples: int = 200, replications: int = 3, accept: float = 0.1, seed: int = 2024,
              priors: Mapping[str, tuple[float, float]] = PRIORS,
              targets: Sequence[Target] = TARGETS, executor: str = "serial",
              workers: int = 0) -> Calibration:
    """Rejection ABC: the ``accept`` share of prior draws closest to the targets (all draws
    inside every interval when there are more of those)."""
    names = list(priors)
    clash = set(names) & {t.name for t in targets}
    if clash:
        raise ValueError(f"target names must differ from parameter names: {sorted(clash)}")
    lo = np.array([priors[n][0] for n in names])
    hi = np.array([priors[n][1] for n in names])
    unit = qmc.LatinHypercube(d=len(names), seed=seed).random(samples)
    values = qmc.scale(unit, lo, hi)
    variants = [Variant("baseline", dict(zip(names, map(float, row), strict=True)))
                for row in values]
    runs = sample(variants, replications, seed, HORIZON, executor, workers)
    stats = np.array([[np.mean([t.statistic(ts, s) for ts, s in reps]) for t in targets]
                      for reps in runs])
    dist = distance(stats, targets)
    draws = pd.DataFrame(values, columns=names)
    for j, t in enumerate(targets):
        draws[t.name] = stats[:, j]
    draws["distance"] = dist
    cutoff = max(np.quantile(dist, accept), 0.0)
    accepted = draws[draws["distance"] <= cutoff].sort_values("distance")
    return Calibration(draws, accepted.reset_index(drop=True), tuple(targets))


def write_calibrated(cal: Calibration, path: str | Path, note: str = "") -> Path:
    """A TOML file of posterior medians (with 5-95% intervals) that configs and code can apply."""
    post = cal.posterior()
    lines = ["# Calibrated parameter values (posterior medians, rejection ABC).",
             f"# Written {dt.date.today().isoformat()} by `borderscen calibrate`. {note}".rstrip(),
             f"# Accepted {len(cal.accepted)} of {len(cal.draws)} prior draws.", "",
             "[parameters]"]
    reg = registry()
    for name, row in post.iterrows():
        value = float(np.clip(row["median"], reg[name].min, reg[name].max))
        lines.append(f"{name} = {value:.6g}")
    lines += ["", "# 5% and 95% posterior quantiles", "[uncertainty]"]
    for name, row in post.iterrows():
        lines.append(f"{name} = [{row['q05']:.6g}, {row['q95']:.6g}]")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def load_calibrated(path: str | Path) -> dict[str, float]:
    """Parameter values from a calibrated.toml, validated against the registry."""
    data = read_toml(path)
    if "parameters" not in data:
        raise ConfigError(path, "parameters", None, "a calibration file needs a [parameters] table")
    values = dict(data["parameters"])
    make_params(values, where=path, prefix="parameters.")
    return {k: float(v) for k, v in values.items()}
