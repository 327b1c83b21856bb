"""Stored results in other tools' shapes: an xarray Dataset, EMA Workbench's (experiments,
outcomes). Plain functions of a :class:`~borderscen.experiments.store.Results`; nothing here runs
the model, so the store can offer them without importing the runner."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from borderscen.inputs.levers import POLICY


def to_xarray(results, outputs: Sequence[str] | None = None, zones: bool = False):
    """The monthly outputs as an ``xarray.Dataset`` with dims (scenario, point, replication,
    month[, zone]); swept parameters, labels and policies are coordinates on ``point``, dates on
    ``month``, seeds on ``replication``. Needs ``pip install 'borderscen[explore]'``."""
    try:
        import xarray as xr
    except ImportError as exc:
        raise ImportError("to_xarray needs: pip install 'borderscen[explore]'") from exc
    ts = results.timeseries
    ident = {"experiment", "run", "scenario", "point", "replication", "seed", "step", "date"}
    design = results.design
    swept = [c for c in design.columns if c not in ("point", "label", "policy", "future")]
    names = list(outputs) if outputs is not None else [
        c for c in ts.columns if c not in ident and c not in swept]
    ds = _cube(ts, names, ["scenario", "point", "replication", "step"], xr)
    if zones:
        z = results.zones
        znames = [c for c in z.columns if c not in ident and c not in swept and c != "zone"]
        zds = _cube(z, znames, ["scenario", "point", "replication", "step", "zone"], xr)
        # the zone rows of a filtered start begin at the branch (the filter keeps none): NaN before
        grid = {d: ds[d].values for d in ("scenario", "point", "replication", "step")}
        if not len(z):  # none at all (a horizon that ends before the branch): every zone NaN
            from borderscen.inputs.space import border_map
            grid["zone"] = sorted(border_map().ids)
        zds = zds.reindex(grid)
        ds = ds.merge(zds.rename({n: f"zone_{n}" for n in znames}), join="exact")
    ds = ds.rename({"step": "month"})
    dates = ts.drop_duplicates("step").set_index("step")["date"]
    ds = ds.assign_coords(date=("month", dates.reindex(ds["month"].values).to_numpy()))
    d = design.set_index("point").reindex(ds["point"].values)
    coords = {c: ("point", d[c].to_numpy()) for c in [*swept, "label", "policy", "future"]
              if c in d.columns}
    seeds = ts.drop_duplicates("replication").set_index("replication")["seed"]
    coords["seed"] = ("replication", seeds.reindex(ds["replication"].values).to_numpy())
    ds = ds.assign_coords(coords)
    ds.attrs.update({"experiment": results.name, "results_id": results.id,
                     "note": "exploratory scenarios, not forecasts"})
    return ds


def _cube(df: pd.DataFrame, names: Sequence[str], dims: Sequence[str], xr):
    df = df.assign(scenario=df["scenario"].astype(str))
    cube = df.set_index(list(dims))[list(names)]
    ds = xr.Dataset.from_dataframe(cube)
    order = [s for s in pd.unique(df["scenario"])]
    return ds.reindex(scenario=order)


def results_to_ema(results, outcomes: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """A stored experiment as EMA's ``(experiments, outcomes)``: one experiment per run
    (swept parameters, levers, ``scenario``, ``policy``, ``seed`` as columns), outcomes as
    arrays of run-level metrics. Feed them to ``ema_workbench.analysis`` (prim, cart, ...)."""
    runs = results.runs
    runs = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    design = results.design
    if POLICY in design.columns:
        runs = runs.merge(design[["point", POLICY]], on="point", how="left")
    swept = [c for c in design.columns if c not in ("point", "label", POLICY, "future")]
    cols = [*swept, "scenario", *([POLICY] if POLICY in runs.columns else []), "point",
            "replication", "seed"]
    experiments = runs[cols].reset_index(drop=True).copy()
    experiments["scenario"] = experiments["scenario"].astype(str).astype("category")
    if POLICY in experiments.columns:
        experiments[POLICY] = experiments[POLICY].astype("category")
    names = outcomes or [c for c in runs.columns if c not in (*cols, "experiment", "run", "status",
                                                               "error", "traceback", "elapsed_s")
                         and pd.api.types.is_numeric_dtype(runs[c])]
    out = {n: runs[n].to_numpy(dtype=float) for n in names}
    return experiments, out
