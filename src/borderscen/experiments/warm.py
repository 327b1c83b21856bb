"""Imported by the fork server that local pools fork their workers from (with the runner): the
kernel's context is built and its compiled functions loaded from numba's cache once there, so
each process forked from it (the filtered start's child, the run pool's workers) starts warm
instead of loading them itself (about a second each). Nothing here is needed for correctness:
a failure leaves the workers to warm themselves. The server also keeps quiet the children it
forks for a pool already torn down (:func:`~borderscen.experiments.runner.quiet_orphan_starts`)."""

from __future__ import annotations

from borderscen.experiments.runner import quiet_orphan_starts, warm_kernel

quiet_orphan_starts()
warm_kernel()
