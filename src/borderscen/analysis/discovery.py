"""Scenario discovery: which assumptions lead to a case of interest (e.g. the relationship ending
in deterioration)? PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010) via the EMA Workbench,
with CART as a second method, on the run-level table of any stored experiment.

The case is a condition on run-level columns, written like ``final_regime == 'deterioration'``
or ``final_isis_members > 3000 and mean_cooperation < 0.4``. It is parsed by a small safe
parser (comparisons, ``in``, ``and``/``or``/``not``, column names and literals): no eval.

The result carries the peeling trajectory, the chosen box's limits with quasi-p-values and a
plain-language rule. ``PrimBox.inspect`` is never called (with pandas 3 it fails on boxes that
restrict a categorical); limits are read from ``box_lims`` and formatted here.
"""

from __future__ import annotations

import ast
import contextlib
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from borderscen.inputs.levers import POLICY

#: Column naming the scenario in the discovery table ('scenario' is dropped by EMA's PRIM).
SCENARIO = "scenario_label"

_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


class WhereError(ValueError):
    """A --where condition that cannot be read; says what is allowed."""


def _value(node: ast.AST, df: pd.DataFrame, expr: str):
    if isinstance(node, ast.Name):
        if node.id not in df.columns:
            raise WhereError(f"{expr!r}: no column {node.id!r}; run-level columns: "
                             f"{', '.join(map(str, df.columns))}")
        col = df[node.id]
        return col.astype(str) if isinstance(col.dtype, pd.CategoricalDtype) else col
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int | float):
        return -node.operand.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_value(e, df, expr) for e in node.elts]
    raise WhereError(f"{expr!r}: only column names, numbers, 'strings' and [lists] may be compared")


def _mask(node: ast.AST, df: pd.DataFrame, expr: str) -> pd.Series:
    if isinstance(node, ast.BoolOp):
        parts = [_mask(v, df, expr) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_mask(node.operand, df, expr)
    if isinstance(node, ast.Compare):
        left, out = _value(node.left, df, expr), None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node, df, expr)
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(left, pd.Series) or not isinstance(right, list):
                    raise WhereError(f"{expr!r}: use  column in [a, b]")
                part = left.isin(right)
                part = ~part if isinstance(op, ast.NotIn) else part
            elif type(op) in _COMPARE:
                part = _COMPARE[type(op)](left, right)
            else:
                raise WhereError(f"{expr!r}: unsupported comparison")
            out = part if out is None else out & part
            left = right
        return pd.Series(out, index=df.index).astype(bool)
    if isinstance(node, ast.Name):
        return _value(node, df, expr).astype(bool)
    raise WhereError(f"{expr!r}: write comparisons joined by and/or, e.g. "
                     "final_regime == 'deterioration' and mean_cooperation < 0.4")


def where_mask(df: pd.DataFrame, expr: str) -> pd.Series:
    """Boolean mask of the rows meeting ``expr`` (safe: parsed, never evaluated)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise WhereError(f"{expr!r}: not a readable condition ({exc.msg})") from None
    return _mask(tree.body, df, expr)


def case_name(expr: str) -> str:
    """'deterioration' for "final_regime == 'deterioration'", else the expression itself."""
    with contextlib.suppress(SyntaxError):
        node = ast.parse(expr.strip(), mode="eval").body
        if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
                and isinstance(node.comparators[0], ast.Constant)
                and isinstance(node.comparators[0].value, str)):
            return node.comparators[0].value
    return expr.strip()


def discovery_table(runs: pd.DataFrame, inputs: Sequence[str], scenarios: bool = True,
                    policy: bool = True) -> pd.DataFrame:
    """The inputs of each successful run: ``inputs`` (swept parameters), plus the scenario and
    policy as categoricals when they vary. Constant columns are dropped."""
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    cols = {n: ok[n].astype(float) for n in inputs if n in ok.columns}
    if policy and POLICY in ok.columns:
        cols[POLICY] = ok[POLICY].astype(str).astype("category")
    if scenarios and "scenario" in ok.columns:
        cols[SCENARIO] = ok["scenario"].astype(str).astype("category")
    x = pd.DataFrame(cols, index=ok.index)
    keep = [c for c in x.columns if x[c].nunique() > 1]
    return x[keep]


@dataclass
class Discovery:
    """What scenario discovery found for one case of interest."""

    case: str
    where: str
    method: str
    n_runs: int
    n_cases: int
    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    rule: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_rate(self) -> float:
        return self.n_cases / self.n_runs if self.n_runs else float("nan")

    def __str__(self) -> str:
        return self.rule

    def report(self) -> str:
        lines = [self.rule, "", f"method {self.method}; {self.n_runs} runs, {self.n_cases} cases "
                 f"({self.base_rate:.0%}); box {self.chosen}: coverage {self.coverage:.2f}, "
                 f"density {self.density:.2f}, mass {self.mass:.2f}", ""]
        if len(self.limits):
            lines.append(self.limits.to_string(index=False))
        if self.extra.get("dropped"):
            lines.append(f"\nleft out (quasi-p above the cut-off): {', '.join(self.extra['dropped'])}")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _condition(r: pd.Series) -> str:
    if r["kind"] != "numeric":
        vals = sorted(map(str, r["values"]))
        return f"{r['dimension']} is {vals[0]}" if len(vals) == 1 else \
            f"{r['dimension']} is one of {', '.join(vals)}"
    low = r["min"] > r["range_min"]
    high = r["max"] < r["range_max"]
    if low and high:
        return f"{r['dimension']} between {_fmt(r['min'])} and {_fmt(r['max'])}"
    if low:
        return f"{r['dimension']} above {_fmt(r['min'])}"
    return f"{r['dimension']} below {_fmt(r['max'])}"


def plain_rule(case: str, limits: pd.DataFrame, density: float, coverage: float,
               base_rate: float) -> str:
    """'deterioration in 71% of runs when X above a and Y below b; this box holds 64% of all
    deterioration runs (22% of all runs are deterioration)'."""
    if not len(limits):
        return (f"{case} in {base_rate:.0%} of runs; no region of the inputs singles it out "
                "(no box restricts any input)")
    conds = " and ".join(_condition(r) for _, r in limits.iterrows())
    return (f"{case} in {density:.0%} of runs when {conds}; this box holds {coverage:.0%} of all "
            f"{case} runs ({base_rate:.0%} of all runs are {case})")


def _limits(box_lim: pd.DataFrame, box_init: pd.DataFrame, qp: dict[str, list[float]],
            dims: Sequence[str]) -> pd.DataFrame:
    rows = []
    for d in dims:
        lo, hi = box_lim[d].iloc[0], box_lim[d].iloc[1]
        sides = [p if p is not None and p >= 0 else np.nan for p in qp.get(d, [])] + [np.nan] * 2
        ps = [p for p in sides[:2] if not np.isnan(p)]
        row = {"dimension": d, "qp": max(ps) if ps else np.nan, "qp_lower": sides[0],
               "qp_upper": sides[1]}
        if isinstance(lo, set):
            row |= {"kind": "categorical", "values": sorted(map(str, lo)), "min": np.nan,
                    "max": np.nan, "range_min": np.nan, "range_max": np.nan}
        else:
            row |= {"kind": "numeric", "values": None, "min": float(lo), "max": float(hi),
                    "range_min": float(box_init[d].iloc[0]), "range_max": float(box_init[d].iloc[1])}
        rows.append(row)
    cols = ["dimension", "kind", "min", "max", "values", "qp", "qp_lower", "qp_upper", "range_min",
            "range_max"]
    return pd.DataFrame(rows, columns=cols)


def _choose(traj: pd.DataFrame, box: int | str) -> int:
    """Index of the chosen box: an index, 'last', or 'balanced' (see below)."""
    if isinstance(box, int):
        if not -len(traj) <= box < len(traj):
            raise ValueError(f"box {box} not on the peeling trajectory (0..{len(traj) - 1})")
        return box % len(traj)
    if box == "last":
        return len(traj) - 1
    # 'balanced': the box with the largest coverage x lift (density above the base rate)
    c, d = traj["coverage"].astype(float), traj["density"].astype(float)
    score = (c * (d - d.iloc[0])).fillna(0).to_numpy()
    return int(np.argmax(score))


@contextlib.contextmanager
def _ema_quiet():
    """Hide the EMA Workbench's own deprecation warnings (filters restored afterwards)."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ema_workbench")
        warnings.filterwarnings("ignore", category=FutureWarning, module="ema_workbench")
        yield


def _import_ema(module: str):
    """Import an EMA Workbench module without its import-time warning about optional
    evaluators (warnings filters are restored afterwards)."""
    import importlib
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not installed.*", category=UserWarning)
            return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError("scenario discovery and the EMA client need: "
                          "pip install 'borderscen[explore]'") from exc


def prim(x: pd.DataFrame, y: np.ndarray, case: str = "case", where: str = "",
         mass_min: float = 0.05, peel_alpha: float = 0.05, paste_alpha: float = 0.05,
         box: int | str = "balanced", max_qp: float | None = 0.05) -> Discovery:
    """Run PRIM for one box and describe the chosen box on its peeling trajectory.

    Restrictions whose quasi-p-value exceeds ``max_qp`` (Bryant & Lempert 2010) are dropped from
    the box and its coverage and density recomputed on the data (``extra['dropped']`` names
    them, ``extra['unpruned']`` keeps the box as PRIM found it); ``max_qp=None`` keeps all."""
    ema_prim = _import_ema("ema_workbench.analysis.prim")
    sdutil = _import_ema("ema_workbench.analysis.scenario_discovery_util")
    y = np.asarray(y, dtype=bool)
    if not y.any() or y.all():
        raise ValueError(f"{case!r} holds in {int(y.sum())} of {len(y)} runs: "
                         "PRIM needs both cases and non-cases")
    if x.shape[1] == 0:
        raise ValueError("no input varies across runs: sweep some parameters (an LHS) first")
    x = x.reset_index(drop=True)
    with _ema_quiet():
        alg = ema_prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                            mass_min=mass_min)
        found = alg.find_box()
    traj = found.peeling_trajectory.copy()
    for c in ("coverage", "density", "mass", "mean"):
        traj[c] = traj[c].astype(float)
    i = _choose(traj, box)
    dims = list(sdutil._determine_restricted_dims(found.box_lims[i], alg.box_init))
    limits = _limits(found.box_lims[i], alg.box_init, found.p_values[i], dims)
    cov, den, mass = (float(traj.loc[i, k]) for k in ("coverage", "density", "mass"))
    extra = {"prim": alg, "box": found, "dropped": []}
    if max_qp is not None and len(limits):
        pruned, dropped = _prune(limits, max_qp)
        if dropped:
            extra["dropped"] = dropped
            extra["unpruned"] = {"limits": limits, "coverage": cov, "density": den, "mass": mass}
            limits = pruned
            cov, den, mass = box_stats(x, y, limits)
    rule = plain_rule(case, limits, den, cov, float(y.mean()))
    return Discovery(case, where, "prim", len(y), int(y.sum()), traj, i, limits, cov, den, mass,
                     rule, extra)


def _prune(limits: pd.DataFrame, max_qp: float) -> tuple[pd.DataFrame, list[str]]:
    """Release each side of a restriction whose quasi-p-value exceeds ``max_qp``; drop a
    dimension left with no restriction. Returns the new limits and what was released."""
    rows, dropped = [], []
    for _, r in limits.iterrows():
        r = r.copy()
        if r["kind"] == "numeric":
            if r["qp_lower"] > max_qp:
                r["min"], r["qp_lower"] = r["range_min"], np.nan
                dropped.append(f"{r['dimension']} (lower limit)")
            if r["qp_upper"] > max_qp:
                r["max"], r["qp_upper"] = r["range_max"], np.nan
                dropped.append(f"{r['dimension']} (upper limit)")
            if r["min"] <= r["range_min"] and r["max"] >= r["range_max"]:
                continue
            ps = [p for p in (r["qp_lower"], r["qp_upper"]) if not np.isnan(p)]
            r["qp"] = max(ps) if ps else np.nan
        elif r["qp"] > max_qp:
            dropped.append(r["dimension"])
            continue
        rows.append(r)
    dropped = [d.replace(" (lower limit)", "").replace(" (upper limit)", "")
               if not any(row["dimension"] == d.split(" ")[0] for row in rows) else d
               for d in dropped]
    return pd.DataFrame(rows, columns=limits.columns).reset_index(drop=True), \
        list(dict.fromkeys(dropped))


def inside(x: pd.DataFrame, limits: pd.DataFrame) -> pd.Series:
    """Which rows of ``x`` lie in the box described by ``limits``."""
    mask = pd.Series(True, index=x.index)
    for _, r in limits.iterrows():
        col = x[r["dimension"]]
        mask &= (col.astype(str).isin(r["values"]) if r["kind"] == "categorical"
                 else col.between(r["min"], r["max"]))
    return mask


def box_stats(x: pd.DataFrame, y: np.ndarray, limits: pd.DataFrame) -> tuple[float, float, float]:
    """Coverage, density and mass of a box on the data."""
    m = inside(x, limits).to_numpy()
    y = np.asarray(y, dtype=bool)
    n_in = int(m.sum())
    return (float(y[m].sum() / max(y.sum(), 1)), float(y[m].mean()) if n_in else float("nan"),
            n_in / len(y))


def cart(x: pd.DataFrame, y: np.ndarray, case: str = "case", where: str = "",
         mass_min: float = 0.05) -> Discovery:
    """CART (EMA Workbench's wrapper of scikit-learn): the leaf with the highest density among
    leaves holding at least ``mass_min`` of the runs, described like a PRIM box."""
    ema_cart = _import_ema("ema_workbench.analysis.cart")
    y = np.asarray(y, dtype=bool)
    x = x.reset_index(drop=True)
    with _ema_quiet():
        alg = ema_cart.CART(x, y, mass_min=mass_min)
        alg.build_tree()
    stats = pd.DataFrame(alg.stats).astype(float)
    stats["leaf"] = range(len(stats))
    best = int(stats.sort_values(["density", "coverage"], ascending=False).iloc[0]["leaf"])
    sdutil = _import_ema("ema_workbench.analysis.scenario_discovery_util")
    box_init = sdutil._make_box(x)
    dims = list(sdutil._determine_restricted_dims(alg.boxes[best], box_init))
    limits = _limits(alg.boxes[best], box_init, {}, dims)
    r = stats.loc[best]
    rule = plain_rule(case, limits, float(r["density"]), float(r["coverage"]), float(y.mean()))
    return Discovery(case, where, "cart", len(y), int(y.sum()), stats, best, limits,
                     float(r["coverage"]), float(r["density"]), float(r["mass"]), rule,
                     {"cart": alg})


def discover(results, where: str, method: str = "prim", inputs: Sequence[str] | None = None,
             **kw) -> Discovery:
    """Scenario discovery on a stored experiment's runs: the case is ``where`` (a condition on
    run-level columns); inputs default to the swept parameters, the policy and the scenario."""
    from borderscen.analysis.sweeps import with_labels
    runs = results.runs
    if POLICY not in runs.columns and POLICY in results.design.columns:
        runs = with_labels(runs, results.design)
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    y = where_mask(ok, where).to_numpy()
    names = list(inputs) if inputs is not None else list(results.manifest.get("swept") or [])
    x = discovery_table(ok, names)
    case = case_name(where)
    if method == "prim":
        return prim(x, y, case=case, where=where, **kw)
    if method == "cart":
        return cart(x, y, case=case, where=where, **kw)
    raise ValueError(f"unknown method {method!r}; allowed: prim, cart")
