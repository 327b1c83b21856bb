"""ODD 7.8 The Kirkuk-Banias pipeline as a staged project.

Stages: 0 closed, 1 agreement, 2 financing and survey, 3 rehabilitation, 4 operating. It advances
only in partnership with a secure route, slowed by Turkish opposition and cost; it slips back in
deterioration.
"""

from __future__ import annotations

OPERATING = 4


def advance_probability(regime: str, route_security: float, security_min: float,
                        base: float, turkey: float, turkey_drag: float, cost_drag: float) -> float:
    if regime != "partnership" or route_security < security_min:
        return 0.0
    return base * (1.0 - turkey_drag * turkey) * (1.0 - cost_drag)


def next_stage(stage: int, regime: str, u_advance: float, u_regress: float, p_advance: float,
               p_regress: float) -> int:
    if stage < OPERATING and u_advance < p_advance:
        return stage + 1
    if regime == "deterioration" and stage > 0 and u_regress < p_regress:
        return stage - 1
    return stage
