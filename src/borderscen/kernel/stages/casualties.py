"""Casualties: the heavy-tailed severity of each country's attacks (ODD 7.3)."""

from __future__ import annotations

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import attacks


def run(m: Month) -> None:
    P, u = m.P, m.u
    m.out["casualties_iraq"] = attacks.severity(m.attacks_iraq, u["severity_iraq"], P.severity_exponent)
    m.out["casualties_syria"] = attacks.severity(m.attacks_syria, u["severity_syria"], P.severity_exponent)


STAGE = Stage(
    name="casualties", odd="7.3", run=run, mechanisms="attacks",
    does="people killed or wounded: a discrete Pareto severity per attack",
    params="severity_exponent",
    draws=(Draw("severity_iraq", attacks.SEVERITY_SLOTS, revision=1),
           Draw("severity_syria", attacks.SEVERITY_SLOTS, revision=1)),
    uses="attacks_iraq attacks_syria",
    outputs="casualties_iraq casualties_syria",
)
