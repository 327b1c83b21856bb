"""Where each month's random numbers come from: one uniform matrix per replication.

A replication's stream is ``default_rng(seed).random((months, WIDTH))``: row t holds month t's
uniforms, and each stage reads its own fixed columns: the blocks its declaration names, laid
out by :func:`borderscen.kernel.stages.draw_blocks` (a block added later goes after every
existing one, so no earlier draw moves). A run's noise therefore depends only on
its seed, never on its state, scenario, batch size or executor (common random numbers), and the
first T rows are the same whatever the horizon. A batch takes the same numbers by block
(:func:`uniform_blocks`: each block's months x replications x columns, so that a month's block
is contiguous in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from borderscen.kernel.stage import Stage
from borderscen.kernel.stages import STAGES, draw_blocks

#: Blocks of revisions up to this one share the run's first stream, one row of uniforms per
#: month: the layout the month had when it was split into stages. Each later revision draws from a
#: stream of its own (a child of the run's seed), so adding a stage moves no number of another.
SHARED_REVISIONS = 4


@dataclass(frozen=True)
class Layout:
    """Columns of each block in a month's row of uniforms, and the streams that fill them:
    ``streams`` holds (revision, first column, width), revision 0 for the shared stream."""

    blocks: dict[str, slice]
    width: int
    streams: tuple[tuple[int, int, int], ...]

    def __getitem__(self, name: str) -> slice:
        return self.blocks[name]


def make_layout(n_zones: int, n_routes: int, stages: Sequence[Stage] = STAGES) -> Layout:
    """The columns of each block the stages draw from (:func:`borderscen.kernel.stages.draw_blocks`)."""
    blocks: dict[str, slice] = {}
    streams: dict[int, tuple[int, int]] = {}
    start = 0
    for draw in draw_blocks(stages):
        width = draw.columns(n_zones, n_routes)
        blocks[draw.name] = slice(start, start + width)
        key = 0 if draw.revision <= SHARED_REVISIONS else draw.revision
        first, w = streams.get(key, (start, 0))
        streams[key] = (first, w + width)
        start += width
    return Layout(blocks, start, tuple((key, first, w) for key, (first, w) in streams.items()))


def uniforms(seeds: Sequence[int] | np.ndarray, months: int, layout: Layout, stream: int = 0) -> np.ndarray:
    """(R, months, layout.width) uniforms, each replication from its own seed.

    ``stream`` 0 is the run's months from January 2022; stream 1 is the spin-up before it
    (a child of the same seed, so a run's spin-up never shares numbers with its months).
    """
    out = np.empty((len(seeds), months, layout.width))
    for r, seed in enumerate(seeds):
        for revision, first, width in layout.streams:
            key = (stream, revision) if revision else ((stream,) if stream else ())
            ss = np.random.SeedSequence(int(seed), spawn_key=key)
            out[r, :, first:first + width] = np.random.default_rng(ss).random((months, width))
    return out


def uniform_blocks(seeds: Sequence[int] | np.ndarray, months: int, layout: Layout, stream: int = 0,
                   chunk: int = 16) -> dict[str, np.ndarray]:
    """The numbers of :func:`uniforms`, split into the layout's blocks: block name ->
    (months, R, block width), so that a month's block (``blocks[name][t]``, (R, width)) is
    C-contiguous and a compiled stage takes it without a copy. Filled ``chunk`` seeds at a time
    from :func:`uniforms`, so the numbers are the same, and a run's never depend on its batch."""
    R = len(seeds)
    out = {name: np.empty((months, R, sl.stop - sl.start)) for name, sl in layout.blocks.items()}
    for first in range(0, R, chunk):
        u = uniforms(seeds[first:first + chunk], months, layout, stream)
        for name, sl in layout.blocks.items():
            out[name][:, first:first + u.shape[0]] = u[:, :, sl].transpose(1, 0, 2)
    return out
