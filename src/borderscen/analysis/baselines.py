"""Naive forecasts the ABM must beat (``docs/scoring.md``, section 4), fitted at each origin.

Each baseline sees only the observations of the same series (quantity, channel, country) whose
windows end before the origin, and returns a predictive sample of the new window's published
figure, or None where its rule cannot be met:

- ``no_change``: the last observation's per-month rate (flows: value / span, day-pro-rated) or
  level (stocks), with a random walk in the log rate whose variance per month comes from the
  series' own past changes (``DEFAULT_SIGMA`` when it has fewer than ``MIN_CHANGES``);
- ``trend``: a log-linear trend of the rate in time, with its Student-t prediction spread;
- ``nb_ar1``: a negative-binomial AR(1) on the series' monthly counts (statsmodels; its Poisson
  limit where the counts show no overdispersion), simulated month by month to the window's end.

A flow's forecast is a count: Poisson around each sampled rate times the window's span. Past
interval and "at least" figures enter at ``Comparable.point``.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence

import numpy as np

from borderscen.assimilation.observe import FLOWS, Comparable

#: Predictive log-rate sd per square-root month of ``no_change`` when the series has fewer
#: than MIN_CHANGES past changes. Assumption (fitted to nothing): 0.87 a year ahead.
DEFAULT_SIGMA = 0.25
MIN_CHANGES = 2
#: ``trend`` needs this many past observations at two or more distinct times.
MIN_TREND = 3
#: ``nb_ar1`` needs this many (month, previous month) pairs, the previous at most MAX_GAP back.
MIN_PAIRS = 5
MAX_GAP = 6
#: Below this NB2 dispersion the fit is at its Poisson boundary and the Poisson AR(1) is used.
MIN_ALPHA = 1e-6
#: Cap of the NB AR(1)'s monthly log mean while simulating (e^15, about 3.3 million a month).
MAX_LOG_MEAN = 15.0
SAMPLES = 2000
NAMES = ("no_change", "trend", "nb_ar1")


def _month_number(text: str) -> int:
    try:
        y, m = map(int, str(text)[:7].split("-"))
    except ValueError:
        raise ValueError(f"month {text!r} is not 'YYYY-MM'") from None
    return y * 12 + m - 1


def _origin_number(origin: dt.date | str) -> int:
    if isinstance(origin, str):
        return _month_number(origin)
    return origin.year * 12 + origin.month - 1


def is_flow(c: Comparable) -> bool:
    return c.quantity in FLOWS


def midpoint(c: Comparable) -> float:
    """The window's midpoint in months (month numbers: start of the first to end of the last)."""
    return (_month_number(c.start) + _month_number(c.end) + 1) / 2


def rate(c: Comparable) -> float:
    """Per-month rate of a flow (value / day-pro-rated span), or a stock's level."""
    return c.point / c.span if is_flow(c) else c.point


def log_rate(c: Comparable) -> float:
    """log of the rate, floored at half a count over the window (flows) or at 1 (stocks)."""
    if is_flow(c):
        return math.log(max(rate(c), 0.5 / c.span))
    return math.log(max(c.point, 1.0))


def same_series(c: Comparable, known: Sequence[Comparable]) -> list[Comparable]:
    key = (c.quantity, c.channel, c.country)
    return [k for k in known if (k.quantity, k.channel, k.country) == key]


def check_before(known: Sequence[Comparable], origin: dt.date | str) -> None:
    """Refuse any observation whose window does not end before the origin."""
    o = _origin_number(origin)
    late = [k.id for k in known if _month_number(k.end) >= o]
    if late:
        raise ValueError(f"baselines may use only observations ending before the origin "
                         f"{origin}; {len(late)} end at or after it: {late[:5]}")


def _as_figures(c: Comparable, log_rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    level = np.exp(np.minimum(log_rates, MAX_LOG_MEAN))
    if is_flow(c):
        return rng.poisson(level * c.span).astype(float)
    return level


def no_change(c: Comparable, series: Sequence[Comparable], rng: np.random.Generator,
              n: int = SAMPLES) -> np.ndarray | None:
    """The last observation's rate or level carried forward, spread by a log random walk."""
    if not series:
        return None
    last = max(series, key=lambda k: (_month_number(k.end), _month_number(k.start), k.low == k.high))
    ordered = sorted(series, key=lambda k: (midpoint(k), _month_number(k.end)))
    d = np.diff([log_rate(k) for k in ordered])
    g = np.maximum(np.diff([midpoint(k) for k in ordered]), 1.0)
    sigma = math.sqrt(float(np.mean(d * d / g))) if d.size >= MIN_CHANGES else DEFAULT_SIGMA
    gap = max(midpoint(c) - midpoint(last), 1.0)
    return _as_figures(c, log_rate(last) + sigma * math.sqrt(gap) * rng.standard_normal(n), rng)


def trend(c: Comparable, series: Sequence[Comparable], rng: np.random.Generator,
          n: int = SAMPLES) -> np.ndarray | None:
    """Least-squares log-linear trend in time, with its Student-t prediction spread."""
    t = np.array([midpoint(k) for k in series])
    if len(series) < MIN_TREND or np.unique(t).size < 2:
        return None
    y = np.array([log_rate(k) for k in series])
    m = len(series)
    tbar = t.mean()
    sxx = float(((t - tbar) ** 2).sum())
    slope = float(((t - tbar) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * tbar)
    resid = y - (intercept + slope * t)
    s = math.sqrt(float((resid ** 2).sum()) / (m - 2))
    t0 = midpoint(c)
    se = s * math.sqrt(1 + 1 / m + (t0 - tbar) ** 2 / sxx)
    return _as_figures(c, intercept + slope * t0 + se * rng.standard_t(m - 2, n), rng)


def _monthly(series: Sequence[Comparable]) -> list[Comparable]:
    """One figure per calendar month: windows of a single month; ties: exact, longer, id."""
    best: dict[int, Comparable] = {}
    for k in series:
        if k.start != k.end:
            continue
        m = _month_number(k.start)
        rank = (k.low == k.high, k.span, k.id)
        if m not in best or rank > (best[m].low == best[m].high, best[m].span, best[m].id):
            best[m] = k
    return [best[m] for m in sorted(best)]


def _x(count: np.ndarray | float, exposure: np.ndarray | float) -> np.ndarray:
    return np.log(np.asarray(count, float) / np.asarray(exposure, float) + 0.5)


def _fit(model, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(params, covariance of the first k) of a statsmodels count model, or None if it fails."""
    # statsmodels warns on non-convergence, singular Hessians and perfect prediction: each is
    # checked below and gives None. The filters are restored on exit (the caller's are untouched).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = model.fit(disp=0, maxiter=200)
            params = np.asarray(res.params, float)
            cov = np.asarray(res.cov_params(), float)[:k, :k]
        except (np.linalg.LinAlgError, ValueError):  # e.g. a constant series: no curvature
            return None
    if not (bool(res.mle_retvals.get("converged", False)) and np.isfinite(params).all()
            and np.isfinite(cov).all()):
        return None
    if np.linalg.eigvalsh((cov + cov.T) / 2).min() < 0:
        return None
    return params, cov


def nb_ar1_fit(series: Sequence[Comparable]):
    """(coefficients, covariance, alpha, last monthly figure) of the AR(1) count model, or None.

    NB2 first; where it does not converge or its dispersion alpha falls to the boundary
    (below MIN_ALPHA: no overdispersion), its limit, the Poisson AR(1) (alpha = 0)."""
    try:
        from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson
    except ImportError as e:
        raise ImportError("the nb_ar1 baseline needs statsmodels: pip install 'borderscen[scoring]'") from e
    months = _monthly(series)
    pairs = [(k, p) for p, k in zip(months, months[1:], strict=False)
             if 0 < _month_number(k.start) - _month_number(p.start) <= MAX_GAP]
    if len(pairs) < MIN_PAIRS:
        return None
    y = np.array([k.point for k, _ in pairs])
    exposure = np.array([k.span for k, _ in pairs])
    X = np.column_stack([np.ones(len(pairs)), [_x(p.point, p.span) for _, p in pairs]])
    nb = _fit(NegativeBinomial(y, X, loglike_method="nb2", exposure=exposure), 2)
    if nb is not None and nb[0][2] > MIN_ALPHA:
        return nb[0][:2], nb[1], float(nb[0][2]), months[-1]
    po = _fit(Poisson(y, X, exposure=exposure), 2)
    if po is None:
        return None
    return po[0][:2], po[1], 0.0, months[-1]


def nb_ar1(c: Comparable, series: Sequence[Comparable], rng: np.random.Generator,
           n: int = SAMPLES) -> np.ndarray | None:
    """Negative-binomial AR(1) on log monthly rates, simulated from the last monthly figure."""
    if not is_flow(c):
        return None
    fit = nb_ar1_fit(series)
    if fit is None:
        return None
    beta, cov, alpha, last = fit
    b = rng.multivariate_normal(beta, cov, size=n, method="cholesky") if cov.any() else np.tile(beta, (n, 1))
    first, end = _month_number(c.start), _month_number(c.end)
    fractions = c.fractions or (1.0,) * (end - first + 1)
    x = np.full(n, float(_x(last.point, last.span)))
    total = np.zeros(n)
    for m in range(_month_number(last.start) + 1, end + 1):
        mu = np.exp(np.minimum(b[:, 0] + b[:, 1] * x, MAX_LOG_MEAN))
        y = (rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mu)) if alpha > 0
             else rng.poisson(mu)).astype(float)
        if m >= first:
            f = fractions[m - first]
            total += y if f >= 1 else rng.binomial(y.astype(np.int64), min(max(f, 0.0), 1.0))
        x = _x(y, 1.0)
    return total


_FORECASTERS = {"no_change": no_change, "trend": trend, "nb_ar1": nb_ar1}


def forecast_all(c: Comparable, known: Sequence[Comparable], origin: dt.date | str,
                 rng: np.random.Generator, n: int = SAMPLES) -> dict[str, np.ndarray | None]:
    """Each baseline's predictive sample (length ``n``) of ``c``'s figure, or None, fitted on
    ``known``: every one of which must end before ``origin`` (refused otherwise)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples; got {n!r}")
    check_before(known, origin)
    series = same_series(c, known)
    return {name: f(c, series, rng, n) for name, f in _FORECASTERS.items()}


__all__ = ["DEFAULT_SIGMA", "NAMES", "check_before", "forecast_all", "log_rate", "midpoint", "nb_ar1",
           "nb_ar1_fit", "no_change", "rate", "same_series", "trend"]
