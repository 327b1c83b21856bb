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
import hashlib
import importlib
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from borderscen.kernel.stage import Month, Stage
from borderscen.kernel.stages import STAGES

#: Where the fingerprint of the sources the compiled kernels were built from is kept (beside
#: numba's cache files of this package).
STAMP = "borderscen-kernel-sources.sha256"


def drop_stale_caches(folder: Path, modules: Iterable[str], sources: Iterable[Path]) -> bool:
    """Remove numba's cache files of ``modules`` in ``folder`` when ``sources`` changed since
    they were compiled, and record the sources' fingerprint; True when files were removed.

    numba's cache (``cache=True``) checks only the file a kernel is defined in, so a kernel here
    that inlines the exact draws of ``mechanisms/fast_draws.py`` (or freezes a constant of a
    mechanism) would otherwise go on loading machine code compiled against their older version,
    silently. Best effort: a folder that cannot be written is left as it is."""
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    stamp = folder / STAMP
    try:
        if stamp.read_text(encoding="ascii").strip() == digest.hexdigest():
            return False
    except OSError:
        pass
    names = tuple(f"{m}." for m in modules)
    dropped = False
    try:
        for f in folder.glob("*.nb[ic]"):
            if f.name.startswith(names):
                f.unlink(missing_ok=True)
                dropped = True
        stamp.write_text(digest.hexdigest() + "\n", encoding="ascii")
    except OSError:
        pass
    return dropped


def _refresh() -> None:
    """:func:`drop_stale_caches` for this package's kernels, from the sources they compile in:
    this package and the mechanisms (the draws, and constants such as attrition's reference)."""
    from borderscen import mechanisms
    from borderscen.kernel.compiled import _common
    here = Path(__file__).parent
    try:  # numba's cache folder for this package (its __pycache__, or a user-wide one)
        folder = Path(getattr(_common.binomial, "_cache")._cache_path)  # noqa: B009 - private to numba
    except AttributeError:
        return
    drop_stale_caches(folder, [p.stem for p in here.glob("*.py")],
                      [*here.glob("*.py"), *Path(mechanisms.__file__).parent.glob("*.py")])


_refresh()


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
