"""Given-data sensitivity (SALib) on any LHS ensemble: PAWN (Pianosi & Wagener 2015, 2018) and
the delta moment-independent index with first-order Sobol from the same data (Borgonovo 2007;
Plischke et al. 2013).

Unlike Sobol at small N, these need no special design and cope with zero-inflated or skewed
outputs such as months in partnership. Every successful run is one sample (replications add
the model's own noise to the output distribution, which moment-independent indices expect).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

METHODS = ("pawn", "delta")


def given_data_indices(runs: pd.DataFrame, parameters: Sequence[str], outputs: Sequence[str],
                       method: str = "pawn", seed: int = 0, slices: int = 10,
                       resamples: int = 50) -> pd.DataFrame:
    """Tidy table (output, parameter, index, value, conf) like analysis.sensitivity.indices."""
    try:
        from SALib.analyze import delta, pawn
    except ImportError as exc:
        raise ImportError("given-data indices need SALib: pip install 'borderscen[sensitivity]'") \
            from exc
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    missing = [p for p in parameters if p not in ok.columns]
    if missing:
        raise ValueError(f"not swept in these results: {missing}")
    X = ok[list(parameters)].to_numpy(float)
    problem = {"num_vars": len(parameters), "names": list(parameters),
               "bounds": [[float(X[:, j].min()), float(X[:, j].max())] for j in range(X.shape[1])]}
    rows = []
    for out in outputs:
        Y = ok[out].to_numpy(float)
        if np.ptp(Y) == 0:  # a constant output: nothing depends on anything
            rows += [{"output": out, "parameter": p, "index": "PAWN_median" if method == "pawn"
                      else "delta", "value": 0.0, "conf": np.nan} for p in parameters]
            continue
        if method == "pawn":
            # a parameter with no effect has every slice's KS statistic 0: SALib then divides 0
            # by 0 for the coefficient of variation, which this table does not report
            with np.errstate(invalid="ignore", divide="ignore"):
                res = pawn.analyze(problem, X, Y, S=slices, seed=seed)
            rows += [{"output": out, "parameter": p, "index": "PAWN_median",
                      "value": float(res["median"][i]), "conf": np.nan}
                     for i, p in enumerate(parameters)]
        else:
            with warnings.catch_warnings():  # SALib warns of bias; its notes keep that
                warnings.simplefilter("ignore", UserWarning)
                res = delta.analyze(problem, X, Y, seed=seed, num_resamples=resamples)
            key = "delta" if "delta" in res else "delta_raw"  # SALib < 1.5.2 / newer
            for i, p in enumerate(parameters):
                rows += [{"output": out, "parameter": p, "index": "delta",
                          "value": float(res[key][i]), "conf": float(res[f"{key}_conf"][i])},
                         {"output": out, "parameter": p, "index": "S1_given_data",
                          "value": float(res["S1"][i]), "conf": float(res["S1_conf"][i])}]
    return pd.DataFrame(rows)
