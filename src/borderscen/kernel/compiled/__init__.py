"""The compiled month: a numba-compiled implementation of every stage (the ``fast`` extra).

Each module here compiles one stage of :mod:`borderscen.kernel.stages` into one loop over
replications and zones, with the same arithmetic, the same uniforms and the same exact draws
(:mod:`borderscen.mechanisms.fast_draws`, element by element). The stage's declaration stays the
single source of truth: a compiled implementation only replaces its ``run``, and the numpy
function in the stage's module stays the reference (the oracle of ``tests/test_compiled.py``)
and the fallback without numba. A stage with no compiled implementation runs its numpy function,
so adding a mechanism is still one module and one line in ``STAGES``.

Kernels use numpy's error model, so a division by zero gives inf or nan as in the numpy stages
instead of raising. :func:`borderscen.kernel.core.make_context` selects these with the compiled
draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from borderscen.kernel import stages as reference
from borderscen.kernel.compiled import (
    actors,
    attacks,
    attrition,
    camps,
    casualties,
    coalition,
    forces,
    leadership,
    legitimacy,
    movement,
    observation,
    pipeline,
    recruitment,
    relationship,
    repatriation,
    smuggling,
    targets,
    tempo,
)
from borderscen.kernel.stage import Month, Stage

#: The reference run of each compiled stage -> its compiled run.
COMPILED: dict[Callable[[Month], None], Callable[[Month], None]] = {
    reference.movement.run: movement.run,
    reference.attrition.run: attrition.run,
    reference.recruitment.run: recruitment.run,
    reference.attacks.run: attacks.run,
    reference.observation.run: observation.run,
    reference.coalition.run: coalition.run,
    reference.camps.run: camps.run,
    reference.casualties.run: casualties.run,
    reference.smuggling.run: smuggling.run,
    reference.forces.run: forces.run,
    reference.legitimacy.run: legitimacy.run,
    reference.pipeline.run: pipeline.run,
    reference.relationship.run: relationship.run,
    reference.tempo.run: tempo.run,
    reference.actors.run: actors.run,
    reference.leadership.run: leadership.run,
    reference.targets.run: targets.run,
    reference.repatriation.run: repatriation.run,
}


def compiled_stages(stages: Sequence[Stage]) -> tuple[Stage, ...]:
    """``stages`` with each run that has a compiled implementation replaced by it."""
    return tuple(dataclasses.replace(s, run=COMPILED[s.run]) if s.run in COMPILED else s for s in stages)
