"""Fit ISIS's tempo regimes (ODD 7.3a, mechanisms/tempo.py) to the 2017-21 training set (issue 22, item 1).

Model: one hidden monthly state k_t in {steady, campaign, lull}, shared by every series (as in the
model, where one tempo state multiplies attacks in both countries), with tempo.transition_matrix's
structure (steady <-> campaign, steady <-> lull) and the dated shocks of tempo.next_state: in a month
with a leadership loss the state goes to lull with q_lead, with a change of the state fought with
q_state, with an announced campaign to campaign with q_campaign (a lull shock wins). Each series s
is a negative-binomial count around a slowly varying level times the state's multiplier:

    y_st ~ NegBin(mean = exp(beta_s . [1, tau, tau^2]) * m_k,  size = r)      m = (1, m_c, m_l)

The log-quadratic level (per series, fewer terms for short series) carries the secular decline after
2017 so that it is not read as a lull. Months a source does not give are missing (no emission; the
chain still moves).

Why our own forward algorithm (numpy + scipy.optimize) and not statsmodels' MarkovRegression or
hmmlearn: neither has negative-binomial emissions with a per-series trend, structural zeros in the
transition matrix (no campaign -> lull), time-varying dated shocks, or missing months in a
multivariate count series; the likelihood here is 60 months x 3 states and is exact.

Estimates: maximum likelihood (L-BFGS-B on logit/log scales, bounded by the parameter registry's
min/max; several starts). Intervals: Wald 95% on the transformed scale from a numerical Hessian,
mapped back (so they respect the bounds). q_state is not estimated (one event); its profile
log-likelihood is reported to show that.

    python scripts/fit_tempo.py [--start 2017-01] [--end 2021-12] [--out results/tempo_fit.json]
                                [--figure docs/figures/tempo_fit.png]
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from scipy import optimize, special

from borderscen.inputs.params import registry
from borderscen.inputs.record import TEMPO_FIT_END, TEMPO_START, tempo_record
from borderscen.mechanisms import tempo

NAMES = ["p_sc", "p_sl", "p_cs", "p_ls", "m_c", "m_l", "q_lead", "q_campaign", "size"]
#: registry entry behind each estimate (src/borderscen/data/parameters.toml)
REGISTRY = {"p_sc": "tempo_p_steady_to_campaign", "p_sl": "tempo_p_steady_to_lull",
            "p_cs": "tempo_p_campaign_to_steady", "p_ls": "tempo_p_lull_to_steady",
            "m_c": "tempo_campaign_multiplier", "m_l": "tempo_lull_multiplier",
            "q_lead": "tempo_leadership_lull_prob", "q_campaign": "tempo_announced_campaign_prob"}
#: bounds: the registry's min/max (size of the negative binomial: 1..1000)
BOUNDS = {n: (registry()[e].min, registry()[e].max) for n, e in REGISTRY.items()} | {"size": (1.0, 1000.0)}
#: q_state is not estimated (one event in the window): the fit holds it at the registry's value
Q_STATE = registry()["tempo_state_change_lull_prob"].default
#: the series fitted: one per source and channel (revised or aggregate series stay in the record for checks)
FIT_START = "2018-01"
#: profile likelihoods printed for the parameters that one or a few events inform
PROFILES = {"q_state": (0.0, 0.2, 0.45, 0.7, 1.0), "q_lead": (0.0, 0.25, 0.5, 0.75, 1.0),
            "q_campaign": (0.0, 0.25, 0.5, 0.75, 1.0), "p_ls": (0.05, 0.15, 0.3, 0.5, 0.9)}
#: plot titles of the fitted series
LABELS = {
    "iraq-musings-incidents": "Iraq: security incidents reported in the media (Musings on Iraq tracker)",
    "syria-ric-sleeper-attacks": "NE Syria: ISIS sleeper-cell attacks (Rojava Information Center)",
    "claimed-iraq-syria-monthly": "Iraq and Syria: attacks claimed by ISIS (compiled from its claims)",
}
FIT_SERIES = ("iraq-musings-incidents", "syria-ric-sleeper-attacks", "claimed-iraq-syria-monthly")


# ---------------------------------------------------------------------- data
def _mi(month: str) -> int:
    y, m = map(int, month.split("-"))
    return y * 12 + m - 1


def _month(i: int) -> str:
    return f"{i // 12}-{i % 12 + 1:02d}"


@dataclasses.dataclass
class Data:
    months: list[str]
    series: list[str]
    y: np.ndarray            # (S, T) counts, nan where the source gives none
    lead: np.ndarray         # (T,) bool: leadership loss this month
    state: np.ndarray        # (T,) bool: change of the state fought
    campaign: np.ndarray     # (T,) bool: announced campaign

    @property
    def degree(self) -> list[int]:
        """Terms of each series' log level: 3 (quadratic) from 12 observed months, 2 from 6, else 1."""
        n = np.isfinite(self.y).sum(1)
        return [3 if k >= 12 else 2 if k >= 6 else 1 for k in n]


def load_data(start: str = TEMPO_START, end: str = TEMPO_FIT_END, record=None, min_months: int = 4,
              series: tuple[str, ...] = FIT_SERIES) -> Data:
    """Monthly rows of ``series`` inside [start, end], keeping series with at least ``min_months``
    observed months; per-day figures are multiplied by the month's days."""
    if end > TEMPO_FIT_END:
        raise ValueError(f"end {end!r}: the tempo is fitted on months up to {TEMPO_FIT_END} only "
                         "(2022-24 is the calibration window, 2025 on the hold-out)")
    rec = record if record is not None else tempo_record()
    i0, i1 = _mi(start), _mi(end)
    months = [_month(i) for i in range(i0, i1 + 1)]
    rows = [r for r in rec.row if r.start == r.end and start <= r.start <= end and r.series in series]
    series = sorted({r.series for r in rows})
    y = np.full((len(series), len(months)), np.nan)
    for r in rows:
        v = r.value
        if r.unit.endswith("per day"):
            yr, mo = map(int, r.start.split("-"))
            v = round(v * calendar.monthrange(yr, mo)[1])
        y[series.index(r.series), _mi(r.start) - i0] = v
    keep = np.isfinite(y).sum(1) >= min_months
    series = [s for s, k in zip(series, keep, strict=True) if k]
    y = y[keep]
    kinds = ("leadership_loss", "state_change", "campaign_announced")
    flags = {k: np.zeros(len(months), bool) for k in kinds}
    for s in rec.shock:
        if start <= s.month <= end:
            flags[s.kind][_mi(s.month) - i0] = True
    return Data(months, series, y, *(flags[k] for k in kinds))


# ---------------------------------------------------------------------- likelihood
def _to_unit(x, lo, hi):
    return lo + (hi - lo) * special.expit(x)


def _from_unit(v, lo, hi):
    u = np.clip((v - lo) / (hi - lo), 1e-9, 1 - 1e-9)
    return special.logit(u)


def unpack(theta: np.ndarray, data: Data) -> tuple[dict, list[np.ndarray]]:
    par = {n: float(_to_unit(theta[i], *BOUNDS[n])) for i, n in enumerate(NAMES)}
    betas, j = [], len(NAMES)
    for d in data.degree:
        betas.append(theta[j:j + d])
        j += d
    return par, betas


def pack(par: dict, betas: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[_from_unit(par[n], *BOUNDS[n]) for n in NAMES], *betas])


def _design(T: int, d: int) -> np.ndarray:
    tau = np.linspace(-1, 1, T)
    return np.stack([tau ** k for k in range(d)], 1)


def emissions(par: dict, betas, data: Data) -> np.ndarray:
    """(T, 3) log-likelihood of each month's observations under each state."""
    T = len(data.months)
    mult = np.array([1.0, par["m_c"], par["m_l"]])
    r = par["size"]
    out = np.zeros((T, 3))
    for s, beta in enumerate(betas):
        y = data.y[s]
        ok = np.isfinite(y)
        if not ok.any():
            continue
        mu = np.exp(_design(T, len(beta)) @ beta)[ok, None] * mult[None, :]
        yy = y[ok, None]
        out[ok] += (special.gammaln(yy + r) - special.gammaln(r) - special.gammaln(yy + 1)
                    + r * np.log(r / (r + mu)) + yy * np.log(mu / (r + mu)))
    return out


def transitions(par: dict, data: Data, q_state: float) -> np.ndarray:
    """(T, 3, 3): the matrix taking month t-1's state to month t's, shocks of month t included."""
    P = tempo.transition_matrix(par["p_sc"], par["p_sl"], par["p_cs"], par["p_ls"])
    a = np.clip(par["q_lead"] * data.lead + q_state * data.state, 0, 1)      # lull shock
    b = par["q_campaign"] * data.campaign * (1 - a)                           # campaign shock
    out = (1 - a - b)[:, None, None] * P[None]
    out[:, :, tempo.LULL] += a[:, None]
    out[:, :, tempo.CAMPAIGN] += b[:, None]
    return out


def loglik_batch(TH: np.ndarray, data: Data, q_state: float) -> np.ndarray:
    """(B,) log-likelihoods of B raw parameter vectors (rows of ``TH``) at once: the forward
    algorithm vectorised over parameter vectors, so that finite-difference gradients and the
    Hessian cost one pass over the months instead of one per perturbed vector."""
    TH = np.atleast_2d(np.asarray(TH, float))
    B, T = TH.shape[0], len(data.months)
    par = {n: _to_unit(TH[:, i], *BOUNDS[n]) for i, n in enumerate(NAMES)}
    mult = np.stack([np.ones(B), par["m_c"], par["m_l"]], -1)              # (B, 3)
    r = par["size"][:, None, None]
    logB = np.zeros((B, T, 3))
    j = len(NAMES)
    for s, d in enumerate(data.degree):
        beta = TH[:, j:j + d]
        j += d
        y = data.y[s]
        ok = np.isfinite(y)
        if not ok.any():
            continue
        mu = np.exp(beta @ _design(T, d)[ok].T)[:, :, None] * mult[:, None, :]   # (B, n, 3)
        yy = y[ok][None, :, None]
        logB[:, ok] += (special.gammaln(yy + r) - special.gammaln(r) - special.gammaln(yy + 1)
                        + r * np.log(r / (r + mu)) + yy * np.log(mu / (r + mu)))
    P = tempo.transition_matrix(par["p_sc"], par["p_sl"], par["p_cs"], par["p_ls"])   # (B, 3, 3)
    a = np.clip(par["q_lead"][:, None] * data.lead + q_state * data.state, 0, 1)       # (B, T)
    b = par["q_campaign"][:, None] * data.campaign * (1 - a)
    A = (1 - a - b)[..., None, None] * P[:, None]
    A[..., tempo.LULL] += a[..., None]
    A[..., tempo.CAMPAIGN] += b[..., None]
    pi = tempo.stationary(par["p_sc"], par["p_sl"], par["p_cs"], par["p_ls"])
    ll = np.zeros(B)
    prev = pi
    for t in range(T):
        pred = np.einsum("bi,bij->bj", prev, A[:, t]) if t else pi
        m = logB[:, t].max(-1)
        w = pred * np.exp(logB[:, t] - m[:, None])
        c = w.sum(-1)
        prev = w / c[:, None]
        ll += np.log(c) + m
    return np.where(np.isfinite(ll), ll, -1e12)


def forward(par, betas, data: Data, q_state: float, backward: bool = False):
    """Log-likelihood (and, with ``backward``, the (T, 3) smoothed state probabilities)."""
    logB = emissions(par, betas, data)
    A = transitions(par, data, q_state)
    pi = tempo.stationary(par["p_sc"], par["p_sl"], par["p_cs"], par["p_ls"])
    T = len(data.months)
    alpha = np.zeros((T, 3))
    c = np.zeros(T)
    prev = pi
    ll = 0.0
    for t in range(T):
        pred = prev @ A[t] if t else pi
        m = logB[t].max()
        a = pred * np.exp(logB[t] - m)
        c[t] = a.sum()
        alpha[t] = a / c[t]
        ll += np.log(c[t]) + m
        prev = alpha[t]
    if not backward:
        return ll
    beta = np.ones((T, 3))
    for t in range(T - 2, -1, -1):
        m = logB[t + 1].max()
        b = A[t + 1] @ (np.exp(logB[t + 1] - m) * beta[t + 1])
        beta[t] = b / b.sum()
    post = alpha * beta
    return ll, post / post.sum(1, keepdims=True)


# ---------------------------------------------------------------------- fit
@dataclasses.dataclass
class Fit:
    estimate: dict
    interval: dict
    betas: list[np.ndarray]
    loglik: float
    loglik_no_switching: float
    posterior: np.ndarray
    q_state: float
    data: Data
    theta: np.ndarray

    @property
    def lr(self) -> float:
        """Likelihood-ratio statistic of the switching model against a single steady regime."""
        return 2 * (self.loglik - self.loglik_no_switching)

    @property
    def regime_effect(self) -> float:
        """Spread over months of the posterior mean log multiplier: 0 when no regime differs."""
        logm = np.log([1.0, self.estimate["m_c"], self.estimate["m_l"]])
        return float(np.std(self.posterior @ logm))


def _start_betas(data: Data) -> list[np.ndarray]:
    out = []
    for s, d in enumerate(data.degree):
        y = data.y[s]
        ok = np.isfinite(y)
        X = _design(len(data.months), d)[ok]
        out.append(np.linalg.lstsq(X, np.log(np.maximum(y[ok], 0.5)), rcond=None)[0])
    return out


def _fit_no_switching(data: Data) -> float:
    """Log-likelihood with one steady regime (the multipliers 1): trends and size only."""
    b0 = _start_betas(data)
    theta0 = np.concatenate([[np.log(20.0)], *b0])
    base = {n: 0.5 * sum(BOUNDS[n]) for n in NAMES}
    base.update(m_c=1.0, m_l=1.0, p_sc=0.005, p_sl=0.005, q_lead=0.0, q_campaign=0.0)

    def nll(th):
        par = dict(base, size=float(np.exp(np.clip(th[0], 0, np.log(1000)))))
        betas, j = [], 1
        for d in data.degree:
            betas.append(th[j:j + d])
            j += d
        return -float(emissions(par, betas, data)[:, 0].sum())

    res = optimize.minimize(nll, theta0, method="L-BFGS-B")
    return -float(res.fun)


def fit(data: Data, q_state: float = Q_STATE, starts: int = 4, seed: int = 0, fixed: dict | None = None,
        warm: np.ndarray | None = None, intervals: bool = True) -> Fit:
    """Maximum likelihood with ``starts`` starting points (the first at ``warm`` if given);
    Wald intervals from the Hessian. ``fixed``: parameters held at a value (for profiles)."""
    rng = np.random.default_rng(seed)
    b0 = _start_betas(data)
    fixed = fixed or {}
    unknown = set(fixed) - set(NAMES)
    if unknown:
        raise ValueError(f"fixed: unknown parameter(s) {sorted(unknown)}; allowed: {NAMES}")

    def nll(th):
        return -float(loglik_batch(th, data, q_state)[0])

    def nll_and_grad(th, h=1e-5):
        """Negative log-likelihood and its central-difference gradient, in one batched pass."""
        E = np.eye(len(th)) * h
        v = -loglik_batch(np.vstack([th, th + E, th - E]), data, q_state)
        n = len(th)
        return v[0], (v[1:n + 1] - v[n + 1:]) / (2 * h)

    best = None
    for k in range(starts):
        init = dict(p_sc=0.08, p_sl=0.08, p_cs=0.3, p_ls=0.3, m_c=1.6, m_l=0.5, q_lead=0.5,
                    q_campaign=0.5, size=30.0)
        if k:
            init = {n: float(np.clip(v * np.exp(0.5 * rng.standard_normal()), *BOUNDS[n]))
                    for n, v in init.items()}
            init["m_c"] = max(init["m_c"], 1.05)
        th0 = pack(init, b0) if (warm is None or k) else np.array(warm, float)
        bounds = [(-9, 9)] * len(NAMES) + [(None, None)] * (len(th0) - len(NAMES))
        for n, v in fixed.items():
            i = NAMES.index(n)
            th0[i] = float(np.clip(_from_unit(v, *BOUNDS[n]), -9, 9))
            bounds[i] = (th0[i], th0[i])
        res = optimize.minimize(nll_and_grad, th0, jac=True, method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    theta = best.x
    par, betas = unpack(theta, data)
    ll, post = forward(par, betas, data, q_state, backward=True)
    interval = (_wald(lambda TH: -loglik_batch(TH, data, q_state), theta) if intervals
                else {n: tuple(BOUNDS[n]) for n in NAMES})
    return Fit(par, interval, betas, ll, _fit_no_switching(data), post, q_state, data, theta)


def _hessian(f_batch, x, h=1e-3):
    """Central-difference Hessian of ``f_batch`` (rows of parameter vectors -> values) at ``x``."""
    n = len(x)
    E = np.eye(n) * h
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    pts = [x] + [x + E[i] for i in range(n)] + [x - E[i] for i in range(n)]
    for i, j in pairs:
        pts += [x + E[i] + E[j], x + E[i] - E[j], x - E[i] + E[j], x - E[i] - E[j]]
    v = f_batch(np.array(pts))
    f0, fp, fm = v[0], v[1:n + 1], v[n + 1:2 * n + 1]
    H = np.diag((fp - 2 * f0 + fm) / h ** 2)
    q = v[2 * n + 1:].reshape(-1, 4)
    for (i, j), (pp, pm, mp, mm) in zip(pairs, q, strict=True):
        H[i, j] = H[j, i] = (pp - pm - mp + mm) / (4 * h * h)
    return H


def _wald(nll_batch, theta) -> dict:
    """95% intervals: +-1.96 sd on the transformed (logit/log) scale, mapped back. A parameter the
    data do not pin down (flat likelihood, or at a bound) gets its whole range."""
    H = _hessian(nll_batch, theta)
    cov = np.linalg.pinv(H)
    out = {}
    for i, n in enumerate(NAMES):
        var = cov[i, i]
        lo, hi = BOUNDS[n]
        if not np.isfinite(var) or var <= 0 or np.sqrt(var) > 4:
            out[n] = (lo, hi)
            continue
        sd = np.sqrt(var)
        out[n] = (float(_to_unit(theta[i] - 1.96 * sd, lo, hi)),
                  float(_to_unit(theta[i] + 1.96 * sd, lo, hi)))
    return out


def profile(data: Data, best: Fit, name: str, grid=(0.0, 0.25, 0.5, 0.75, 1.0), starts: int = 2) -> dict:
    """Maximised log-likelihood at each fixed value of ``name`` (a parameter of NAMES, or
    "q_state"), warm-started at the best fit: a flat profile means the data do not identify it."""
    out = {}
    for v in grid:
        if name == "q_state":
            f = fit(data, q_state=v, starts=starts, warm=best.theta, intervals=False)
        else:
            f = fit(data, q_state=best.q_state, starts=starts, warm=best.theta, fixed={name: v},
                    intervals=False)
        out[v] = f.loglik
    return out


def profile_interval(prof: dict, best_loglik: float, level: float = 3.841) -> tuple[float, float]:
    """95% profile-likelihood interval from a grid profile: the values whose likelihood-ratio
    statistic 2 (l_best - l(v)) stays below ``level`` (chi-square, 1 df), edges interpolated
    linearly between grid points (the grid's ends where the profile never crosses)."""
    v = np.array(sorted(prof))
    lr = np.array([2 * (best_loglik - prof[k]) for k in v])
    inside = lr < level
    if not inside.any():
        i = int(np.argmin(lr))
        return float(v[i]), float(v[i])
    i0, i1 = np.flatnonzero(inside)[[0, -1]]

    def edge(a, b):      # a inside, b outside: where lr crosses level
        return float(v[a] + (level - lr[a]) * (v[b] - v[a]) / (lr[b] - lr[a]))

    lo = edge(i0, i0 - 1) if i0 > 0 else float(v[0])
    hi = edge(i1, i1 + 1) if i1 < len(v) - 1 else float(v[-1])
    return lo, hi


# ---------------------------------------------------------------------- simulation (for tests)
def simulate(par: dict, T: int, log_levels: np.ndarray, rng: np.random.Generator,
             lead=None, state=None, campaign=None, q_state: float = Q_STATE):
    """Synthetic counts from mechanisms.tempo: (states (T,), counts (S, T)). ``log_levels`` (S, T)."""
    z = np.zeros(T, bool)
    lead, state, campaign = (z if v is None else np.asarray(v, bool) for v in (lead, state, campaign))
    s = tempo.initial_state(rng.uniform(size=1), par["p_sc"], par["p_sl"], par["p_cs"], par["p_ls"])
    states = np.zeros(T)
    for t in range(T):
        a = np.clip(par["q_lead"] * lead[t] + q_state * state[t], 0, 1)
        b = par["q_campaign"] * campaign[t]
        if t:
            s = tempo.next_state(s, rng.uniform(size=1), rng.uniform(size=1), par["p_sc"], par["p_sl"],
                                 par["p_cs"], par["p_ls"], np.array([a]), np.array([b]))
        states[t] = s[0]
    mult = tempo.multiplier(states, par["m_c"], par["m_l"])
    mu = np.exp(log_levels) * mult[None, :]
    r = par["size"]
    return states, rng.negative_binomial(r, r / (r + mu)).astype(float)


# ---------------------------------------------------------------------- report
def table(f: Fit, profile_int: dict | None = None) -> str:
    """The estimates with their 95% intervals: Wald (from the Hessian) unless a profile-likelihood
    interval is given for the parameter (``profile_int``)."""
    profile_int = profile_int or {}
    lines = [f"{'parameter':<12}{'estimate':>10}   95% interval           registry entry",
             "-" * 78]
    for n in NAMES:
        lo, hi = profile_int.get(n, f.interval[n])
        how = "profile" if n in profile_int else "Wald"
        entry = REGISTRY.get(n, "(emission size)")
        lines.append(f"{n:<12}{f.estimate[n]:>10.3f}   [{lo:6.3f}, {hi:6.3f}] {how:<8}{entry}")
    lo, hi = profile_int.get("q_state", (np.nan, np.nan))
    lines.append(f"{'q_state':<12}{f.q_state:>10.3f}   [{lo:6.3f}, {hi:6.3f}] profile "
                 "tempo_state_change_lull_prob (held at the registry value: one event)")
    lines.append("-" * 78)
    n_obs = int(np.isfinite(f.data.y).sum())
    lines.append(f"series: {', '.join(f.data.series)}; {n_obs} observed months of {len(f.data.months)} "
                 f"({f.data.months[0]}..{f.data.months[-1]})")
    lines.append(f"log-likelihood {f.loglik:.2f}; one regime {f.loglik_no_switching:.2f}; LR {f.lr:.1f}")
    share = f.posterior.mean(0)
    lines.append("months in steady/campaign/lull (posterior mean): "
                 f"{share[0]:.2f} / {share[1]:.2f} / {share[2]:.2f}")
    return "\n".join(lines)


def figure(f: Fit, path: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    d = f.data
    fig = Figure(figsize=(10, 2.6 * len(d.series) + 0.6))
    axes = fig.subplots(len(d.series), 1, sharex=True, squeeze=False)[:, 0]
    x = np.arange(len(d.months))
    state = f.posterior.argmax(1)
    colours = {tempo.CAMPAIGN: "#d95f02", tempo.LULL: "#7570b3"}
    for ax, s, beta, y in zip(axes, d.series, f.betas, d.y, strict=True):
        for k, c in colours.items():
            for t in x[state == k]:
                ax.axvspan(t - 0.5, t + 0.5, color=c, alpha=0.25, lw=0)
        ok = np.isfinite(y)
        span = (x >= x[ok].min()) & (x <= x[ok].max())
        # NaN months break the line: a month no source gives is not drawn (nothing interpolated)
        ax.plot(x, y, "o-", color="black", ms=3, lw=0.8, label="published count")
        level = np.exp(_design(len(x), len(beta)) @ beta)
        ax.plot(x[span], level[span], "--", color="grey", lw=1, label="fitted level (steady)")
        ax.set_ylabel("count per month\n(log scale)")
        ax.set_title(LABELS.get(s, s), fontsize=9, loc="left")
        ax.set_yscale("log")
    for ax in axes:
        for t in x[d.lead]:
            ax.axvline(t, color="red", lw=0.8)
        for t in x[d.campaign]:
            ax.axvline(t, color="#d95f02", lw=0.8, ls=":")
        for t in x[d.state]:
            ax.axvline(t, color="blue", lw=0.8, ls="-.")
    ticks = [i for i, m in enumerate(d.months) if m.endswith("-01")]
    axes[-1].set_xticks(ticks, [d.months[i][:4] for i in ticks])
    axes[-1].set_xlabel("month")
    handles = axes[0].get_legend_handles_labels()[0] + [Patch(color=c, alpha=0.25) for c in colours.values()]
    axes[0].legend(handles, ["published count", "fitted level (steady)", "decoded campaign", "decoded lull"],
                   fontsize=7, loc="upper right")
    fig.suptitle(f"ISIS tempo regimes fitted to published monthly counts, {d.months[0]} to {d.months[-1]}\n"
                 "shaded: most probable state; red line: leadership loss; dotted: announced campaign; "
                 "dash-dot: loss of Baghuz", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", default=FIT_START,
                    help="first month fitted (default 2018-01: the first month after Iraq's declared "
                         "victory of December 2017; 2017 is the territorial war and is kept in the record "
                         "as a sensitivity)")
    ap.add_argument("--end", default=TEMPO_FIT_END)
    ap.add_argument("--out", type=Path, default=Path("results/tempo_fit.json"))
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--starts", type=int, default=4)
    a = ap.parse_args(argv)
    data = load_data(a.start, a.end)
    f = fit(data, starts=a.starts)
    profiles, pint = {}, {}
    for name, grid in PROFILES.items():
        profiles[name] = profile(data, f, name, grid)
        pint[name] = profile_interval(profiles[name], max(f.loglik, *profiles[name].values()))
    print(table(f, pint))
    for name, prof in profiles.items():
        print(f"profile log-likelihood of {name}:", ", ".join(f"{q:g}: {v:.2f}" for q, v in prof.items()))
    out = {"window": [a.start, a.end], "series": data.series, "estimate": f.estimate,
           "interval": {k: list(v) for k, v in f.interval.items()}, "loglik": f.loglik,
           "loglik_no_switching": f.loglik_no_switching, "lr": f.lr, "q_state_fixed": f.q_state,
           "profiles": {n: {str(k): v for k, v in p.items()} for n, p in profiles.items()},
           "profile_interval": {n: list(v) for n, v in pint.items()},
           "posterior": {m: list(map(float, p)) for m, p in zip(data.months, f.posterior, strict=True)}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out}")
    if a.figure:
        figure(f, a.figure)
        print(f"wrote {a.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
