"""ODD 7.3b: ISIS's targets in state-held Syrian zones fall with Assad's garrisons (issue 22).

The mechanism only acts from the month the new government takes over, so the calibration window
is untouched; after it, attacks in the zones the state holds fall and come back with Damascus's
capacity. The pre-registered 2025 lull check (docs/scoring.md section 7) is run with the
mechanism on and switched off, pooled over several filter seeds (never one lucky seed).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from borderscen.analysis.validation import lull_check, record_range
from borderscen.assimilation.filter import assimilate
from borderscen.inputs.scenarios import build_scenario, history, month_index
from borderscen.kernel.core import START, run_batch
from borderscen.mechanisms import targets
from borderscen.runs import make_batch


def test_exposure_is_one_under_assad_and_outside_state_zones():
    zones = np.array([[1.0, 0.0, 1.0]])
    capacity = np.array([[0.3]])
    share = np.array([[0.8]])
    before = targets.exposure(zones, np.array([[False]]), capacity, share)
    after = targets.exposure(zones, np.array([[True]]), capacity, share)
    assert before.tolist() == [[1.0, 1.0, 1.0]]
    assert after[0, 1] == 1.0  # a zone the state does not hold
    assert after[0, 0] == after[0, 2] == pytest.approx(1 - 0.8 * (1 - 0.3))
    full = targets.exposure(zones, np.array([[True]]), np.array([[1.0]]), share)
    assert full.tolist() == [[1.0, 1.0, 1.0]]  # a government at full capacity is as exposed as Assad's
    off = targets.exposure(zones, np.array([[True]]), capacity, np.array([[0.0]]))
    assert off.tolist() == [[1.0, 1.0, 1.0]]  # the switch-off


def _paired(share: float, seeds, months: int):
    batch, _ = make_batch(build_scenario("baseline", {"state_target_share": share}), seeds, months)
    return run_batch(batch)


def test_the_fall_of_assad_lowers_attacks_in_state_zones_and_nothing_before_it():
    seeds = list(range(1000, 1200))
    fall = month_index(history().branch, START) - 14  # December 2024 (the branch is 2026-02)
    assert f"{_paired(0.8, seeds[:1], fall + 1).dates[fall]:%Y-%m}" == "2024-12"
    on, off = _paired(0.8, seeds, fall + 4), _paired(0.0, seeds, fall + 4)
    for k, a in on.monthly.items():  # the calibration window is bit-identical
        np.testing.assert_array_equal(a[:, :fall], off.monthly[k][:, :fall], err_msg=k)
    q1 = slice(fall + 1, fall + 4)
    diff = on.monthly["attacks_syria"][:, q1].sum(1) - off.monthly["attacks_syria"][:, q1].sum(1)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() + 3 * se < 0, (diff.mean(), se)  # paired: clearly fewer attacks in Syria
    iraq = on.monthly["attacks_iraq"][:, q1].sum(1) - off.monthly["attacks_iraq"][:, q1].sum(1)
    assert abs(iraq.mean()) < abs(diff.mean()) / 3  # Iraq moves only through knock-on effects


def _frame(f) -> pd.DataFrame:
    n = len(f.values)
    df = pd.DataFrame({"replication": np.repeat(np.arange(n), f.months),
                       "date": np.tile(pd.to_datetime(f.dates), n), "scenario": "baseline"})
    for k in ("attacks_tracked_syria", "attacks_official_iraq"):
        df[k] = f.monthly[k].reshape(-1)
    return df


@functools.cache
def _pooled_check(share: float, assimilated: bool = True) -> pd.DataFrame:
    frames = []
    for seed in (11, 12, 13, 14):  # four independent filters, pooled
        f = assimilate(history().branch, particles=1000, seed=seed,
                       scenario=build_scenario("baseline", {"state_target_share": share}),
                       **({} if assimilated else {"observations": []}))
        frames.append(_frame(f).assign(replication=lambda d, s=seed: d["replication"] + s * 10_000))
    return lull_check(pd.concat(frames, ignore_index=True)).set_index("id")


def test_the_lull_check_holds_for_syria_and_fails_with_the_mechanism_off():
    on, off = _pooled_check(0.8), _pooled_check(0.0)
    syria = "syria-attacks-tracker-2025q1"
    assert on.loc[syria, "inside"], on.loc[syria].to_dict()
    assert not off.loc[syria, "inside"], off.loc[syria].to_dict()
    assert on.loc[syria, "median"] < off.loc[syria, "median"]


def test_the_lull_check_holds_for_iraq_and_fails_open_loop():
    """Iraq's 2025 lull is not this mechanism's (Assad's garrisons were in Syria): the tempo and
    the filter carry it. Switched off, i.e. run open loop from January 2022, the check misses."""
    iraq = "iraq-attacks-official-2025"
    on, loop = _pooled_check(0.8), _pooled_check(0.8, assimilated=False)
    assert on.loc[iraq, "inside"], on.loc[iraq].to_dict()
    assert not loop.loc[iraq, "inside"], loop.loc[iraq].to_dict()


def test_the_record_range_widens_with_the_observation_noise():
    narrow, wide = record_range(30, 30, 100.0), record_range(30, 30, 5.0)
    assert narrow[0] < 30 < narrow[1] and wide[0] < narrow[0] and wide[1] > narrow[1]
    assert record_range(660, float("inf"), 15.0)[1] == float("inf")
