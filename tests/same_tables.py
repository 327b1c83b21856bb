"""Comparing the tables of two result folders, without the columns that record wall time."""

from __future__ import annotations

import pandas as pd


def tables(res):
    return {name: getattr(res, name).drop(columns=["elapsed_s", "traceback"], errors="ignore")
            for name in ("timeseries", "runs", "zones")}


def assert_same(a, b):
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_categorical=False)
