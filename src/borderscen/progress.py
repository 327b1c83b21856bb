"""How far a long computation is: one callback type, and the one way the command line shows it.

Everything that simulates at length (the experiment runner, the particle filter, validation,
calibration, the backtest, the sensitivity designs and the variance split) takes
``progress: Progress | None`` and calls it as ``progress(done, total)``: ``done`` never goes
down, and reaches ``total`` when the work is finished. What a unit is (a run, a month, an
origin, an accepted particle) each function's docstring says.

:class:`ProgressView` draws such a callback on standard error, as a bar on a terminal and as
plain lines in a pipe or a log file; the command line and the runner use it for every command.
The explorer draws its own indicator from the same calls.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

#: ``progress(done, total)``: ``done`` of ``total`` units finished (done never goes down).
Progress = Callable[[int, int], None]

#: Seconds between plain progress lines when standard error is not a terminal.
PLAIN_PROGRESS_EVERY = 5.0


def progress_mode(show: bool | None) -> str:
    """How progress is shown: ``"bar"``, ``"lines"`` or ``"off"``.

    ``show=None`` (the default everywhere) draws a bar on a terminal and plain lines otherwise;
    ``True`` always draws a bar; ``False`` nothing. With the environment variable ``CI`` set,
    nothing is shown whatever ``show`` says.
    """
    if os.environ.get("CI") or show is False:
        return "off"
    if show is True or sys.stderr.isatty():
        return "bar"
    return "lines"


class ProgressView:
    """A :data:`Progress` callback that shows progress on standard error (see
    :func:`progress_mode`): a tqdm bar, or a plain line ``"<what>: done/total <unit>s (pct),
    <seconds> s"`` at the first call, at most every ``every`` seconds after it, and at the end.

    ``say`` writes a plain line (default: to standard error). Use it as a context manager, or
    call :meth:`close` when done.
    """

    def __init__(self, what: str, unit: str = "run", show: bool | None = None,
                 every: float = PLAIN_PROGRESS_EVERY, say: Callable[[str], None] | None = None):
        self.what, self.unit, self.every = what, unit, every
        self.mode = progress_mode(show)
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.bar: Any = None
        self.t0 = time.perf_counter()
        self.last: float | None = None  # when the last plain line was written
        self.finished = False

    def __call__(self, done: int, total: int) -> None:
        if self.mode == "bar":
            if self.bar is None:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.what,
                                dynamic_ncols=True, file=sys.stderr)
            if self.bar.total != total:
                self.bar.total = total
            self.bar.update(done - self.bar.n)
        elif self.mode == "lines":
            now = time.monotonic()
            end = done >= total
            if self.last is None or now - self.last >= self.every or (end and not self.finished):
                self.last, self.finished = now, end
                self.say(f"{self.what}: {done:,}/{total:,} {self.unit}s ({done / max(total, 1):.0%}), "
                         f"{time.perf_counter() - self.t0:.0f} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Tally:
    """Several steps counted as one: each step's ``(done, total)`` is reported to ``progress``
    as the units of the steps before it plus its own, out of ``total`` in all. A step's size is
    given when it starts (:meth:`step`), so the count never goes down; it never passes
    ``total`` (a step past the planned ones reports the whole count)."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, int(total), 0
        if progress is not None:
            progress(0, self.total)

    def step(self, size: int) -> Progress:
        """The callback of the next step, of ``size`` units."""
        start, size = self.done, int(size)
        self.done += size

        def report(done: int, total: int) -> None:
            if self.progress is not None:
                part = size if total <= 0 else min(size, round(size * done / total))
                self.progress(min(start + part, self.total), self.total)

        return report

    def finish(self) -> None:
        """Report the whole count (a step that ended early, e.g. ABC stopping at its epsilon)."""
        if self.progress is not None:
            self.progress(self.total, self.total)
