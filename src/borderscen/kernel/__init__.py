"""The month function, batched: R replications of one scenario advanced together as arrays.

A month is the named stages of :mod:`borderscen.kernel.stages`, run in order over the state.

``run_batch`` is what the runner calls; :class:`borderscen.model.BorderModel` calls the same
``init_state`` and ``step`` with R = 1, so the Mesa face and the batch give identical numbers.
"""

from borderscen.kernel.core import (
    MONTHLY_OUTPUTS,
    ZONE_OUTPUTS,
    Batch,
    BatchResult,
    init_state,
    run_batch,
    step,
)

__all__ = ["MONTHLY_OUTPUTS", "ZONE_OUTPUTS", "Batch", "BatchResult", "init_state", "run_batch", "step"]
