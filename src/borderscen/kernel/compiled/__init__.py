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
import importlib
import importlib.util
from collections.abc import Callable, Sequence

from borderscen.kernel.stage import Month, Stage
from borderscen.kernel.stages import STAGES


def _compiled_runs() -> dict[Callable[[Month], None], Callable[[Month], None]]:
    """The compiled ``run`` of every stage that has a module of the same name here, found from
    the stage list (so a compiled implementation is its module alone, like a stage)."""
    runs = {}
    for stage in STAGES:
        name = f"{__name__}.{stage.run.__module__.rsplit('.', 1)[-1]}"
        if importlib.util.find_spec(name) is not None:
            runs[stage.run] = importlib.import_module(name).run
    return runs


#: The reference run of each compiled stage -> its compiled run.
COMPILED: dict[Callable[[Month], None], Callable[[Month], None]] = _compiled_runs()


def compiled_stages(stages: Sequence[Stage]) -> tuple[Stage, ...]:
    """``stages`` with each run that has a compiled implementation replaced by it."""
    return tuple(dataclasses.replace(s, run=COMPILED[s.run]) if s.run in COMPILED else s for s in stages)
