"""State legitimacy in Iraq and Syria: governance pulls it toward its level, operations without
intelligence harm civilians and erode it (ODD 7.4)."""

from __future__ import annotations

from borderscen.kernel.stage import Month, Stage, country_sum
from borderscen.mechanisms import attrition, recruitment


def run(m: Month) -> None:
    s, P = m.s, m.P
    harm = attrition.untargeted_operations(m.ops_z, m.intel) / 100.0
    harm_iraq, harm_syria = country_sum(harm, m.ctx.is_syria)
    target_syria = recruitment.syria_legitimacy_target(m.new_government, P.legitimacy_syria,
                                                       P.governance_legitimacy_gain, m.damascus_capacity,
                                                       P.legitimacy_syria_assad)
    m.legitimacy_iraq = recruitment.next_legitimacy(s.legitimacy_iraq, P.legitimacy_iraq,
                                                    P.legitimacy_adjustment_rate, harm_iraq,
                                                    P.collateral_harm_cost)
    m.legitimacy_syria = recruitment.next_legitimacy(s.legitimacy_syria, target_syria,
                                                     P.legitimacy_adjustment_rate, harm_syria,
                                                     P.collateral_harm_cost)
    m.out.update(legitimacy_iraq=m.legitimacy_iraq, legitimacy_syria=m.legitimacy_syria)


STAGE = Stage(
    name="legitimacy", odd="7.4", run=run, mechanisms="attrition recruitment",
    does="legitimacy moves toward each government's level and falls with civilian harm",
    params="legitimacy_syria governance_legitimacy_gain legitimacy_syria_assad legitimacy_iraq "
           "legitimacy_adjustment_rate collateral_harm_cost",
    reads="legitimacy_iraq legitimacy_syria", uses="ops_z intel new_government damascus_capacity",
    writes="legitimacy_iraq legitimacy_syria",
    outputs="legitimacy_iraq legitimacy_syria",
)
