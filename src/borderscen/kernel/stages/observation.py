"""What is seen of the attacks: trackers, claims and the Iraqi count; the threat forces see and
the coalition's retaliation (ODD 7.10, 7.1, 7.1a)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import coalition, forces


def run(m: Month) -> None:
    s, P, u, syria = m.s, m.P, m.u, m.ctx.is_syria
    attacks = m.zone_attacks
    tracked = m.ctx.draws.binomial(u["tracked"], attacks, P.tracker_detection)
    claimed = m.ctx.draws.binomial(u["claimed"], attacks, P.claim_probability)
    official = m.ctx.draws.binomial(u["official"], attacks * ~syria, P.official_detection_iraq)
    tracked_partner = np.concatenate([(tracked * m.iraq_area).sum(-1, keepdims=True),
                                      (tracked * m.partner_zones_syria).sum(-1, keepdims=True)], axis=-1)
    seen_coalition = np.concatenate([m.seen_iraq, m.seen_partner], axis=-1)
    m.retaliation = coalition.next_retaliation(s.retaliation, tracked_partner, seen_coalition,
                                               P.retaliation_memory, P.retaliation_gain)
    m.seen = forces.smooth(s.seen, tracked, P.threat_memory)
    m.out.update(attacks_tracked_iraq=(tracked * ~syria).sum(-1, keepdims=True),
                 attacks_tracked_syria=(tracked * syria).sum(-1, keepdims=True),
                 attacks_claimed_iraq=(claimed * ~syria).sum(-1, keepdims=True),
                 attacks_claimed_syria=(claimed * syria).sum(-1, keepdims=True),
                 attacks_official_iraq=official.sum(-1, keepdims=True))


STAGE = Stage(
    name="observation", odd="7.10", run=run, mechanisms="observation coalition forces draws",
    does="tracked, claimed and official counts of the attacks; the attacks forces see (smoothed) and "
         "the coalition's retaliation after a surge",
    params="tracker_detection claim_probability official_detection_iraq retaliation_memory retaliation_gain "
           "threat_memory",
    draws=(Draw("tracked", "zones", revision=1), Draw("claimed", "zones", revision=1),
           Draw("official", "zones", revision=1)),
    reads="retaliation seen", uses="zone_attacks iraq_area partner_zones_syria seen_iraq seen_partner",
    writes="retaliation seen",
    outputs="attacks_tracked_iraq attacks_tracked_syria attacks_claimed_iraq attacks_claimed_syria "
            "attacks_official_iraq",
)
