"""Where each month's random numbers come from: one uniform matrix per replication.

A replication's stream is ``default_rng(seed).random((months, WIDTH))``: row t holds month t's
uniforms, and each stage reads its own fixed columns: the blocks its declaration names, laid
out by :func:`borderscen.kernel.stages.draw_blocks` (a block added later goes after every
existing one, so no earlier draw moves). A run's noise therefore depends only on
its seed, never on its state, scenario, batch size or executor (common random numbers), and the
first T rows are the same whatever the horizon. A batch takes the same numbers a month at a
time (:func:`month_rows`), a few months made at once, so it never holds all its months.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def _generator(seed: int, stream: int, revision: int) -> np.random.Generator:
    key = (stream, revision) if revision else ((stream,) if stream else ())
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def uniforms(seeds: Sequence[int] | np.ndarray, months: int, layout: Layout, stream: int = 0) -> np.ndarray:
    """(R, months, layout.width) uniforms, each replication from its own seed.

    ``stream`` 0 is the run's months from January 2022; stream 1 is the spin-up before it
    (a child of the same seed, so a run's spin-up never shares numbers with its months).
    """
    out = np.empty((len(seeds), months, layout.width))
    for r, seed in enumerate(seeds):
        for revision, first, width in layout.streams:
            out[r, :, first:first + width] = _generator(seed, stream, revision).random((months, width))
    return out


def month_rows(seeds: Sequence[int] | np.ndarray, months: int, layout: Layout, stream: int = 0,
               chunk: int = 12, first: int = 0) -> Iterator[np.ndarray]:
    """Month by month from month ``first``, the (R, layout.width) rows of :func:`uniforms`
    (``uniforms(...)[:, t]`` for t = first, ..., months - 1, the same numbers: each replication's
    generators go on where the last chunk of months ended), made ``chunk`` months at a time into
    one buffer, so a batch never holds all its months of uniforms. The months before ``first``
    (a run continuing a filtered state) are skipped, not made: each generator is advanced past
    their numbers (PCG64 draws one 64-bit output per uniform). A row is valid until the next is
    taken (:func:`month_blocks` copies its blocks)."""
    first = min(max(int(first), 0), months)
    generators = [[(first_column, width, _generator(seed, stream, revision))
                   for revision, first_column, width in layout.streams] for seed in seeds]
    if first:
        for streams in generators:
            for _, width, rng in streams:
                bits = rng.bit_generator
                assert isinstance(bits, np.random.PCG64), type(bits)  # what _generator makes
                bits.advance(first * width)
    buffer = np.empty((min(chunk, months - first), len(seeds), layout.width))
    for start in range(first, months, chunk):
        n = min(chunk, months - start)
        for r, streams in enumerate(generators):
            for first_column, width, rng in streams:
                buffer[:n, r, first_column:first_column + width] = rng.random((n, width))
        yield from buffer[:n]


def month_blocks(row: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """A month's uniforms (a row of :func:`month_rows`, (R, width)) by block, each (R, block
    width) and C-contiguous, so a compiled stage takes it as it is."""
    return {name: np.ascontiguousarray(row[:, sl]) for name, sl in layout.blocks.items()}
