"""The month's stages, in the order they run (ODD 3), and what their declarations imply.

Each stage is a module here with a :class:`~borderscen.kernel.stage.Stage` declaration and its
function. From the list below follow:

- the random layout: every stage's blocks of uniforms, by layout revision, then in stage order
  (:func:`draw_blocks`, :mod:`borderscen.kernel.layout`);
- the monthly output columns (:func:`monthly_outputs`);
- the ODD's process table (``scripts/gen_process_table.py``).

Adding a mechanism is one new module here and one line in :data:`STAGES`.
"""

from __future__ import annotations

from collections.abc import Sequence

from borderscen.kernel.stage import Draw, Stage
from borderscen.kernel.stages import (
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

STAGES: tuple[Stage, ...] = (
    coalition.STAGE,
    actors.STAGE,
    leadership.STAGE,
    relationship.STAGE,
    forces.STAGE,
    movement.STAGE,
    attrition.STAGE,
    legitimacy.STAGE,
    repatriation.STAGE,
    recruitment.STAGE,
    camps.STAGE,
    smuggling.STAGE,
    tempo.STAGE,
    targets.STAGE,
    attacks.STAGE,
    observation.STAGE,
    casualties.STAGE,
    pipeline.STAGE,
)

#: The store's column order when the month was split into stages. Stored runs keep their column
#: order: these columns come first in this order, and the outputs of any later stage follow in
#: stage order (columns are append-only, like the random layout).
STORE_ORDER = (
    "attacks_iraq", "attacks_syria", "attacks_tracked_iraq", "attacks_tracked_syria",
    "attacks_claimed_iraq", "attacks_claimed_syria", "attacks_official_iraq",
    "casualties_iraq", "casualties_syria",
    "isis_members", "isis_members_iraq", "isis_members_syria", "recruits_iraq", "recruits_syria",
    "exits", "neutralised_iraq", "neutralised_syria", "operations_iraq", "operations_syria",
    "partnered_operations_iraq", "partnered_operations_syria",
    "partnered_neutralised_iraq", "partnered_neutralised_syria", "recruitable_pool",
    "legitimacy_iraq", "legitimacy_syria", "disruption", "leadership_strikes",
    "cooperation", "regime", "joint_operations", "intel_sharing",
    "smuggling_flow", "interdictions", "weapons_stock", "pipeline_stage",
    "iran_influence", "militia_presence", "turkey_pressure", "gulf_support",
    "tehran_camp", "pragmatic_camp", "openness_baghdad", "willingness_damascus",
    "damascus_capacity", "us_troops_iraq", "us_troops_syria", "camp_population",
    "alhol_iraqis", "repatriated", "detainees", "breakouts", "escapees", "guard",
    "isis_tempo", "isis_tempo_multiplier", "coalition_tempo_iraq", "coalition_tempo_syria",
)


def draw_blocks(stages: Sequence[Stage] = STAGES) -> tuple[Draw, ...]:
    """Every stage's blocks in layout order: by revision, then stage order, then as declared."""
    blocks = [d for stage in stages for d in stage.draws]
    names = [d.name for d in blocks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"random blocks declared by more than one stage: {twice}; each block has one owner")
    return tuple(sorted(blocks, key=lambda d: d.revision))


def monthly_outputs(stages: Sequence[Stage] = STAGES) -> tuple[str, ...]:
    """The monthly output columns: those of :data:`STORE_ORDER` first, then new ones in stage order."""
    declared = [o for stage in stages for o in stage.outputs]
    twice = sorted({o for o in declared if declared.count(o) > 1})
    if twice:
        raise ValueError(f"outputs declared by more than one stage: {twice}; each output has one owner")
    known = [o for o in STORE_ORDER if o in declared]
    return (*known, *(o for o in declared if o not in STORE_ORDER))


MONTHLY_OUTPUTS = monthly_outputs()
