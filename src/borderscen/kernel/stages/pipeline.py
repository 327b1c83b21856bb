"""The Kirkuk-Banias pipeline as a staged project (ODD 7.8)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import cooperation, pipeline


def run(m: Month) -> None:
    P = m.P
    durations = np.concatenate([P.pipeline_months_to_agreement, P.pipeline_months_to_financing,
                                P.pipeline_months_to_construction, P.pipeline_months_to_operation], axis=-1)
    p_advance = pipeline.advance_probability(m.s.stage, m.regime == cooperation.PARTNERSHIP, durations,
                                             m.turkey, P.pipeline_turkey_drag)
    m.stage = pipeline.next_stage(m.s.stage, m.u["pipeline_advance"], m.u["pipeline_regress"], p_advance,
                                  m.regime == cooperation.DETERIORATION, P.pipeline_regress_prob)
    m.out["pipeline_stage"] = m.stage.astype(float)


STAGE = Stage(
    name="pipeline", odd="7.8", run=run, mechanisms="pipeline",
    does="in partnership the project advances a stage (Turkey drags); in deterioration it may slip back",
    params="pipeline_months_to_agreement pipeline_months_to_financing pipeline_months_to_construction "
           "pipeline_months_to_operation pipeline_turkey_drag pipeline_regress_prob",
    draws=(Draw("pipeline_advance", 1, revision=1), Draw("pipeline_regress", 1, revision=1)),
    reads="stage", uses="regime turkey", writes="stage",
    outputs="pipeline_stage",
)
