"""The borderscen Mesa model: one replication you can step, inspect and collect.

:class:`BorderModel` is the Mesa face of the batched kernel (``borderscen.kernel``): it keeps
the actors as Mesa agents on the zone network and records with Mesa's DataCollector, and each
``step`` runs the very same month function the batch runner uses, with R = 1, so its numbers are
identical to a batch's for the same scenario and seed (tested). ``simulate`` is the fast path
for one run as a table.

The clock starts in January 2022; the history (``data/history.toml``) is replayed to the branch
month, where the scenario's settings take over; the default horizon is December 2030.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from borderscen.actors import (
    SDF,
    Baghdad,
    Camp,
    Coalition,
    Damascus,
    Gulf,
    Iran,
    IsisPresence,
    Militias,
    Turkey,
)
from borderscen.inputs.scenarios import Event, Scenario, check_start, merge_overrides
from borderscen.kernel.core import (
    ZONE_OUTPUTS,
    BatchParams,
    BatchResult,
    apply_schedule,
    init_state,
    make_context,
    month_dates,
    record,
    step,
)
from borderscen.kernel.layout import uniforms
from borderscen.mechanisms.cooperation import REGIME_NAMES
from borderscen.randomness import SeedLike, as_int_seed
from borderscen.runs import (  # noqa: F401  (the clock and simulate are re-exported here)
    DEFAULT_HORIZON,
    DEFAULT_START,
    MAX_HORIZON,
    OUTPUTS,
    check_horizon,
    make_batch,
    monthly_frame,
    resolve_scenario,
    simulate,
    zone_frame,
)


class BorderModel(mesa.Model):
    """Iraq-Syria border security cooperation, January 2022 onward, one month per step.

    >>> m = BorderModel("covert_channel", seed=1)
    >>> df = m.run()                      # or m.step() repeatedly; m.datacollector is Mesa's
    >>> m2 = BorderModel(seed=1, iran_pressure=0.7)   # flat keyword overrides (for sliders)

    ``parameters="posterior"`` (default) gives this run its own draw of the calibrated
    parameters, chosen from its seed; ``"median"`` uses the posterior medians.

    Open loop: the model starts in January 2022 and replays the history without the record
    (as ``bs.simulate`` and experiments with ``start = "open_loop"``). Experiments default to
    ``start = "filtered"``, continuing particles of the record assimilated to the branch month.
    """

    def __init__(self, scenario: Scenario | str = "baseline", seed: SeedLike = None,
                 horizon_months: int = DEFAULT_HORIZON, start: str = DEFAULT_START,
                 overrides: Mapping[str, Any] | None = None, events: Sequence[Event] = (),
                 parameters: str = "posterior", **params: Any):
        check_start(start, DEFAULT_START)
        self.seed = as_int_seed(seed)
        super().__init__(rng=self.seed)
        self.spec = resolve_scenario(scenario, merge_overrides(overrides, params, "BorderModel"),
                                     events)
        self.horizon = check_horizon(horizon_months)
        self.batch, rows = make_batch(self.spec, [self.seed], self.horizon, parameters)
        self.posterior_row = rows[0]
        self.ctx = make_context()
        self.map = self.ctx.zmap
        self.params = BatchParams(self.batch.params)
        self.state = init_state(self.params, self.ctx, [self.seed])
        self._u = uniforms([self.seed], self.horizon, self.ctx.layout)
        self.dates = month_dates(self.horizon)
        self.month_index = 0
        self.triggers: frozenset[str] = frozenset()
        self.space = self.map.network(self.random)
        cell = {zid: self.space[zid] for zid in self.map.ids}
        self.coalition, self.iran, self.militias = Coalition(self), Iran(self), Militias(self)
        self.turkey, self.gulf = Turkey(self), Gulf(self)
        self.baghdad = Baghdad(self, cell["baghdad"])
        self.damascus = Damascus(self, cell["damascus"])
        self.sdf = SDF(self, cell["hasakah"])
        self.camps = tuple(Camp(self, cell[z.id], z.camp) for z in self.map.zones if z.camp)
        self.isis = tuple(IsisPresence(self, cell[zid], i) for i, zid in enumerate(self.map.ids))
        self._monthly = {k: np.empty((1, self.horizon)) for k in self.ctx.outputs}
        self._zones = {k: np.empty((1, self.horizon, self.map.n)) for k in ZONE_OUTPUTS}
        reporters: dict[str, Any] = {"date": "date"}
        reporters.update({k: (lambda m, k=k: m.last(k)) for k in self.ctx.outputs if k != "regime"})
        reporters["regime"] = "regime"
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    # ------------------------------------------------------------------ schedule (ODD 3)
    def step(self) -> None:
        """One month: dated inputs, then the kernel's month function for this replication."""
        t = self.month_index
        self.triggers = apply_schedule(self.params, self.batch, t)
        self.state = step(self.state, self.params, self._u[:, t], self.ctx, self.triggers)
        record(self.state, t, self._monthly, self._zones)
        self.datacollector.collect(self)
        self.month_index += 1
        if self.month_index >= self.horizon:
            self.running = False

    def last(self, name: str) -> float:
        """This month's value of a monthly output."""
        return float(self.state.outputs[name][0, 0]) if self.state.outputs else float("nan")

    @property
    def date(self) -> dt.date:
        return self.dates[max(self.month_index - 1, 0)]

    @property
    def regime(self) -> str:
        return REGIME_NAMES[int(self.last("regime"))] if self.state.outputs else "none"

    @property
    def phase(self) -> str:
        return "history" if "history" in self.triggers else "scenario"

    def _result(self) -> BatchResult:
        T = self.month_index
        return BatchResult({k: v[:, :T] for k, v in self._monthly.items()},
                           {k: v[:, :T] for k, v in self._zones.items()}, self.dates[:T])

    def run(self) -> pd.DataFrame:
        """Step to the horizon and return the monthly outputs."""
        while self.running:
            self.step()
        return self.to_frame()

    def to_frame(self) -> pd.DataFrame:
        """Monthly outputs so far, one row per month (same columns as ``simulate``)."""
        return monthly_frame(self._result()).drop(columns="replication")

    def zone_frame(self) -> pd.DataFrame:
        """Monthly zone outputs (attacks, members, security, intel), one row per month and zone."""
        return zone_frame(self._result(), self.map.ids).drop(columns="replication")
