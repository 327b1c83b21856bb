"""What the covert-channel preset changes, tested statistically over paired replications.

Under common random numbers replication r has the same seed and posterior draw in every
scenario, so scenario effects are paired differences. The covert channel differs from baseline
by mechanism (no coordination centres, a ceiling on joint operations, a floor on intelligence
sharing), not by where the relationship ends. Most baseline futures already run as a limited
channel, so the two share their medians; what the covert channel forecloses is the tail of
futures in which baseline's relationship becomes a partnership and sets up coordination centres
that choke the smuggling corridor. That tail is what the fan chart's weapons panel shows.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from borderscen.inputs.scenarios import build_scenario
from borderscen.inputs.space import border_map
from borderscen.kernel.core import make_context, run_batch
from borderscen.model import DEFAULT_HORIZON
from borderscen.randomness import run_seed
from borderscen.runs import make_batch, summaries

N = 300  # paired replications; enough for the 10th percentile to be estimated within a few units


@pytest.fixture(scope="module")
def outcomes():
    ctx = make_context()
    seeds = [run_seed(4242, r) for r in range(N)]
    desert = np.zeros(len(border_map().ids), dtype=bool)

    def run(preset: str, **overrides):
        batch, _ = make_batch(build_scenario(preset, overrides=overrides or None), seeds, DEFAULT_HORIZON)
        return summaries(run_batch(batch, ctx), desert)

    return {"baseline": run("baseline"), "covert": run("covert_channel"),
            "covert_with_centres": run("covert_channel", coordination_centres=1, joint_ops_ceiling=20)}


def test_the_covert_channel_keeps_weapons_flowing_where_baseline_reaches_partnership(outcomes):
    base, covert = outcomes["baseline"], outcomes["covert"]
    in_partnership = (base["months_partnership"] >= 12).to_numpy()
    assert in_partnership.sum() >= 30, "too few baseline partnership futures to test the tail"
    gap = (covert["final_weapons_stock"] - base["final_weapons_stock"]).to_numpy()[in_partnership]
    assert stats.ttest_1samp(gap, 0.0, alternative="greater").pvalue < 1e-3
    low_base, low_covert = (np.percentile(t["final_weapons_stock"], 10) for t in (base, covert))
    assert low_covert > 1.15 * low_base  # the lower band of the fan chart is cut


def test_the_gap_closes_when_the_covert_channel_gets_its_centres_back(outcomes):
    """Switch-off check: the difference comes from the coordination centres and the ceiling."""
    low = {k: np.percentile(t["final_weapons_stock"], 10) for k, t in outcomes.items()}
    assert abs(low["covert_with_centres"] - low["baseline"]) < 0.3 * (low["covert"] - low["baseline"])


def test_the_covert_channel_leaves_the_median_future_alone(outcomes):
    """Most baseline futures already are a limited channel: ISIS and attack medians agree within
    5%, while the lower tail of the weapons stock moves (previous test)."""
    base, covert = outcomes["baseline"], outcomes["covert"]
    for column in ("final_isis_members", "cum_attacks"):
        a, b = np.median(base[column]), np.median(covert[column])
        assert abs(b - a) < 0.05 * a, column
