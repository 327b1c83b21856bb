"""ISIS's targets in the zones Assad's state held: lost with Assad's garrisons, regained as
the new government deploys (ODD 7.3b)."""

from __future__ import annotations

from borderscen.kernel.stage import Month, Stage
from borderscen.mechanisms import targets


def run(m: Month) -> None:
    m.exposure = targets.exposure(m.ctx.damascus_zones, m.new_government, m.damascus_capacity,
                                  m.P.state_target_share)


STAGE = Stage(
    name="targets", odd="7.3b", run=run, mechanisms="targets",
    does="ISIS's attack opportunities in state-held Syrian zones: lost with Assad's garrisons, "
         "regained with the new government's capacity",
    params="state_target_share",
    uses="new_government damascus_capacity", writes="exposure",
)
