"""What a stage of the month is: a declaration and a function over the month's values.

A stage is one step of the month (ODD 3), run as ``stage.run(month)``. Its :class:`Stage`
declaration says what it works from and what it leaves: the parameters it reads, the blocks of
uniforms it draws from, last month's state it reads, this month's values it uses from earlier
stages and those it sets, and its monthly outputs. The random layout
(:mod:`borderscen.kernel.layout`), the output columns and the ODD's process table are derived
from these declarations (:mod:`borderscen.kernel.stages`), and a test checks every declaration
against what its function actually touches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np


def _names(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value.split()) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Draw:
    """A block of uniform columns in each month's row of a replication's stream.

    ``width`` is a number of columns, or ``"zones"`` / ``"routes"`` for one per zone or per
    smuggling route. ``revision`` is the layout revision that introduced the block: blocks are
    laid out by revision, then in stage order. A block added later takes the next revision: it
    goes after every existing column and draws from a stream of its own
    (:data:`borderscen.kernel.layout.SHARED_REVISIONS`), so no number any other block draws moves.
    """

    name: str
    width: int | Literal["zones", "routes"]
    revision: int

    def columns(self, n_zones: int, n_routes: int) -> int:
        if self.width == "zones":
            return n_zones
        if self.width == "routes":
            return n_routes
        if isinstance(self.width, int) and self.width > 0:
            return self.width
        raise ValueError(f"draw {self.name!r}: width = {self.width!r}; allowed: a positive int, "
                         f"'zones' or 'routes'")


@dataclass(frozen=True)
class Stage:
    """One named step of the month and what it touches (names may be given space-separated).

    - ``params``: parameters it reads; ``draws``: its blocks of uniforms, in layout order;
    - ``reads``: fields of last month's :class:`~borderscen.kernel.core.State`;
    - ``uses``: this month's values set by earlier stages; ``writes``: the values it sets
      (those named like a state field are next month's state);
    - ``triggers``: dated triggers it reacts to; ``outputs``: its monthly output columns;
    - ``odd``: its ODD section, ``does``: one line for the process table, ``mechanisms``: the
      modules of :mod:`borderscen.mechanisms` whose functions it calls.
    """

    name: str
    odd: str
    does: str
    run: Callable[[Month], None]
    mechanisms: tuple[str, ...] | str = ()
    params: tuple[str, ...] | str = ()
    draws: tuple[Draw, ...] = ()
    reads: tuple[str, ...] | str = ()
    uses: tuple[str, ...] | str = ()
    writes: tuple[str, ...] | str = ()
    triggers: tuple[str, ...] | str = ()
    outputs: tuple[str, ...] | str = ()

    def __post_init__(self) -> None:
        for name in ("mechanisms", "params", "reads", "uses", "writes", "triggers", "outputs"):
            object.__setattr__(self, name, _names(getattr(self, name)))


class Month:
    """One month in the making: the inputs, and the values the stages set as attributes.

    ``m.s`` is last month's state, ``m.P`` the parameters, ``m.u[block]`` this month's uniforms,
    ``m.ctx`` the static context and ``m.triggers`` the dated triggers; a stage sets this month's
    values as attributes (``m.members = ...``) and records outputs in ``m.out``.
    """

    def __init__(self, s: Any, P: Any, u: Mapping[str, np.ndarray], ctx: Any, triggers: frozenset[str]):
        self.s, self.P, self.u, self.ctx, self.triggers = s, P, u, ctx, triggers
        self.out: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> np.ndarray:  # only for names no stage has set yet
        raise AttributeError(f"this month's {name!r} is not set: no earlier stage writes it")

    if TYPE_CHECKING:  # stages set this month's values as attributes of any name
        def __setattr__(self, name: str, value: Any) -> None: ...


def country_sum(x: np.ndarray, syria: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Iraq, Syria) totals over zones, each (R, 1)."""
    return (x * ~syria).sum(-1, keepdims=True), (x * syria).sum(-1, keepdims=True)
