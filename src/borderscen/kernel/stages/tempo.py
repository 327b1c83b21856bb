"""ISIS's operational tempo: the latent steady / campaign / lull state and its multiplier
(ODD 7.3a)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import tempo


def run(m: Month) -> None:
    P = m.P
    leadership_loss = m.strike if "spinup" not in m.triggers else np.zeros_like(m.strike)
    lull, campaign = tempo.shock_probabilities(
        leadership_loss, "state_change" in m.triggers, "campaign_announced" in m.triggers,
        P.tempo_leadership_lull_prob, P.tempo_state_change_lull_prob, P.tempo_announced_campaign_prob)
    m.tempo = tempo.next_state(m.s.tempo, m.u["tempo_shock"], m.u["tempo_move"],
                               P.tempo_p_steady_to_campaign, P.tempo_p_steady_to_lull,
                               P.tempo_p_campaign_to_steady, P.tempo_p_lull_to_steady, lull, campaign)
    m.tempo_multiplier = tempo.multiplier(m.tempo, P.tempo_campaign_multiplier, P.tempo_lull_multiplier)
    m.out.update(isis_tempo=m.tempo, isis_tempo_multiplier=m.tempo_multiplier)


STAGE = Stage(
    name="tempo", odd="7.3a", run=run, mechanisms="tempo",
    does="the tempo state switches (leadership losses, a change of state and announced campaigns shock "
         "it); its multiplier on attacks",
    params="tempo_leadership_lull_prob tempo_state_change_lull_prob tempo_announced_campaign_prob "
           "tempo_p_steady_to_campaign tempo_p_steady_to_lull tempo_p_campaign_to_steady "
           "tempo_p_lull_to_steady tempo_campaign_multiplier tempo_lull_multiplier",
    draws=(Draw("tempo_shock", 1, revision=2), Draw("tempo_move", 1, revision=2)),
    reads="tempo", uses="strike", writes="tempo tempo_multiplier",
    triggers="spinup state_change campaign_announced",
    outputs="isis_tempo isis_tempo_multiplier",
)
