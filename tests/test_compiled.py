"""The compiled draws (the ``fast`` extra) against the numpy/scipy reference, the oracle: the same
quantile at the same uniform, draw by draw and over whole months of hundreds of replications."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

import borderscen.mechanisms
from borderscen.inputs.scenarios import build_scenario
from borderscen.kernel.core import make_context, run_batch
from borderscen.mechanisms import draws
from borderscen.randomness import run_seed
from borderscen.runs import make_batch

fast_draws = pytest.importorskip("borderscen.mechanisms.fast_draws", reason="needs the fast extra (numba)")

RNG = np.random.default_rng(23)


@pytest.mark.parametrize(("n_max", "p_max"), [(5, 1.0), (60, 0.3), (400, 0.2), (20_000, 1.0)])
def test_compiled_binomial_draws_are_the_reference_quantiles(n_max, p_max):
    size = 100_000
    u, n, p = RNG.random(size), RNG.integers(0, n_max + 1, size), RNG.random(size) * p_max
    p[:50] = (0.0, 1.0, 1e-12, 1 - 1e-12, 0.5) * 10  # the edges: certain, impossible, extreme
    got, want = fast_draws.binomial(u, n, p), draws.binomial(u, n, p)
    assert np.mean(got == want) >= 1 - 1e-5, np.flatnonzero(got != want)[:5]
    assert got.shape == want.shape and np.all((got >= 0) & (got <= n))


@pytest.mark.parametrize("lam_max", [1e-6, 12.5, 20.0, 5e4])
def test_compiled_poisson_draws_are_the_reference_quantiles(lam_max):
    u, lam = RNG.random((400, 250)), RNG.random((400, 250)) * lam_max
    got, want = fast_draws.poisson(u, lam), draws.poisson(u, lam)
    assert np.mean(got == want) >= 1 - 1e-5
    assert got.shape == (400, 250)


def test_compiled_draws_summed_up_from_zero_to_a_mean_of_40_are_the_reference_quantiles():
    """Means 12-40 are summed up from 0 (they were summed from the mode): the reference quantile,
    for small p (large n) and large p alike, and the same draw with p's constants given once."""
    from borderscen.kernel.compiled._common import binomial_given, binomial_p

    size = 200_000
    mean, u = RNG.uniform(12.0, 40.0, size), RNG.random(size)
    p = np.where(RNG.random(size) < 0.5, RNG.uniform(0.002, 0.1, size), RNG.uniform(0.1, 0.97, size))
    n = np.maximum(np.round(mean / p), 1.0)
    got, want = fast_draws.binomial(u, n, p), draws.binomial(u, n, p)
    assert np.mean(got == want) >= 1 - 1e-5, np.flatnonzero(got != want)[:5]
    given = np.array([binomial_given(a, b, binomial_p(c)) for a, b, c in zip(u[:2000], n, p, strict=False)])
    np.testing.assert_array_equal(given, got[:2000])
    assert np.mean(fast_draws.poisson(u, mean) == draws.poisson(u, mean)) >= 1 - 1e-5
    edges = np.array([0.0, 1.0, -0.5, 1.5])  # p clipped: none, all, none, all
    assert [binomial_given(0.5, 7.0, binomial_p(q)) for q in edges] == [0.0, 7.0, 0.0, 7.0]


@pytest.mark.parametrize("hospitality", ["equal", "two values and zeros"])
def test_compiled_movement_splits_movers_as_the_reference_when_remainders_tie(hospitality):
    """Equal weights make every remainder tie: the compiled split picks the largest remainders
    in the reference's stable order (ties by slot), and gives nothing to a slot of weight 0."""
    from borderscen.kernel.compiled import movement as compiled_movement
    from borderscen.mechanisms import movement

    zmap, R = make_context().zmap, 400
    rng = np.random.default_rng(7)
    hosp = np.ones(zmap.n) if hospitality == "equal" else rng.choice([0.0, 0.5, 1.0], size=zmap.n)
    members = rng.integers(0, 400, size=(R, zmap.n)).astype(float)
    security, u = np.zeros((R, zmap.n)), rng.random((R, zmap.n))
    one, zero, mobility = np.ones((R, 1)), np.zeros((R, 1)), np.full((R, 1), 0.3)
    weights = movement.neighbour_weights(zmap.nbr, zmap.nbr_mask, zmap.nbr_cross, one, hosp, security, zero)
    movers = draws.binomial(u, members, mobility)
    want = movement.apply(members, movement.split(movers, weights), make_context().nbr_onehot)
    got = compiled_movement._month(members, security, u, one, zero, zero, zero, mobility, zmap.nbr,
                                   zmap.nbr_mask, zmap.nbr_cross, hosp)
    np.testing.assert_array_equal(got, want)


def _agreement(want: np.ndarray, got: np.ndarray) -> float:
    """Share of replication-months (or zone-months) where ``got`` is the reference ``want``:
    equal for an integer output, within 1e-9 relative for a float one (NaN where both are NaN)."""
    both_nan = np.isnan(want) & np.isnan(got)
    integer = np.all((want[~np.isnan(want)] % 1) == 0)
    same = both_nan | ((got == want) if integer else np.isclose(got, want, rtol=1e-9, atol=0.0))
    return float(same.mean())


@pytest.mark.parametrize(("scenario", "months"), [("tehran_ascendant", 60), ("baseline", 108)])
def test_compiled_months_equal_the_reference_months_on_hundreds_of_replications(scenario, months):
    """300 replications (history and scenario), the compiled month (compiled stages and draws)
    against the numpy reference month, the oracle: every integer output equals the reference on
    at least 99.9% of replication-months, every float output is within 1e-9 relative on as many
    (a differing draw would change its replication from then on). Floats differ in their last
    bits only: numba's exp, expm1 and pow against numpy's, and sums over zones in another order."""
    batch, _ = make_batch(build_scenario(scenario), [run_seed(31, r) for r in range(300)], months)
    ref = run_batch(batch, make_context(compiled=False))
    fast = run_batch(batch, make_context(compiled=True))
    assert make_context(compiled=True).draws is fast_draws
    for k, want in ref.monthly.items():
        assert _agreement(want, fast.monthly[k]) >= 0.999, k
    for k, want in ref.zones.items():
        assert _agreement(want, fast.zones[k]) >= 0.999, k


def test_the_compiled_month_compiles_every_stage_and_keeps_every_declaration():
    reference, compiled = make_context(compiled=False), make_context(compiled=True)
    assert [s.name for s in compiled.stages] == [s.name for s in reference.stages]
    replaced = {s.name for s, r in zip(compiled.stages, reference.stages, strict=True) if s.run is not r.run}
    assert replaced == {s.name for s in reference.stages}  # the whole month
    for s, r in zip(compiled.stages, reference.stages, strict=True):  # only the run differs
        assert dataclasses.replace(s, run=r.run) == r
    assert compiled.layout == reference.layout and compiled.outputs == reference.outputs


def test_without_numba_the_reference_runs_and_asking_for_compiled_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # numba not installed
    monkeypatch.delitem(sys.modules, "borderscen.mechanisms.fast_draws")
    monkeypatch.delattr(borderscen.mechanisms, "fast_draws")
    assert make_context().draws is draws
    with pytest.raises(ImportError, match=r"compiled=True needs numba: pip install 'borderscen\[fast\]'"):
        make_context(compiled=True)


def test_kernel_caches_are_dropped_when_a_source_they_compile_in_changes(tmp_path):
    """numba checks only a kernel's own file: a change to the draws (another file) must drop the
    kernels' cache files, and an unchanged set of sources must keep them."""
    from borderscen.kernel.compiled import STAMP, drop_stale_caches
    draws = tmp_path / "fast_draws.py"
    draws.write_text("A = 1\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    kernels = [cache / "movement._month-15.py313.nbi", cache / "movement._month-15.py313.1.nbc"]
    other = cache / "unrelated.f-3.py313.nbi"  # another package's cache in a shared folder
    for f in [*kernels, other]:
        f.write_bytes(b"machine code")
    assert drop_stale_caches(cache, ["movement"], [draws])  # no fingerprint yet: dropped
    assert not any(f.exists() for f in kernels) and other.exists() and (cache / STAMP).exists()
    for f in kernels:
        f.write_bytes(b"machine code")
    assert not drop_stale_caches(cache, ["movement"], [draws])  # same sources: kept
    assert all(f.exists() for f in kernels)
    draws.write_text("A = 2\n")
    assert drop_stale_caches(cache, ["movement"], [draws])  # the draws changed: dropped
    assert not any(f.exists() for f in kernels) and other.exists()
