"""The month in named stages: the random layout and the output columns follow from the stages'
declarations and keep today's order (common random numbers, the store's columns), every
declaration says what its function really touches, and a new stage needs only its module and
its line in the stage list."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from borderscen.inputs.scenarios import build_scenario
from borderscen.kernel.core import (
    STATE_FIELDS,
    BatchParams,
    apply_schedule,
    init_state,
    make_context,
    run_batch,
    step,
)
from borderscen.kernel.layout import make_layout, month_blocks, month_rows, uniforms
from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.kernel.stages import MONTHLY_OUTPUTS, STAGES, draw_blocks, monthly_outputs
from borderscen.randomness import run_seed
from borderscen.runs import make_batch

ROOT = Path(__file__).resolve().parents[1]

#: The random layout before the month was split into stages (name, columns), zones = 13 and
#: routes = 3: every run's draws depend on it staying exactly so.
LAYOUT_BEFORE_STAGES = (
    ("faction_noise", 1), ("election_noise", 1), ("strike", 1), ("cooperation", 1), ("joint_ops", 1),
    ("movement", 13), ("attrition", 13), ("exits", 13), ("recruitment", 13), ("spillover", 13),
    ("breakout", 1), ("detainee_joiners", 1), ("resident_joiners", 1), ("smuggling_demand", 1),
    ("interdiction", 3), ("attacks", 13), ("tracked", 13), ("claimed", 13), ("official", 13),
    ("severity_iraq", 24), ("severity_syria", 24), ("pipeline_advance", 1), ("pipeline_regress", 1),
    ("tempo_shock", 1), ("tempo_move", 1), ("coalition_tempo", 2), ("coalition_ops", 2),
    ("capacity_noise", 1),
)
#: The monthly output columns before the split, in the store's order.
OUTPUTS_BEFORE_STAGES = (
    "attacks_iraq", "attacks_syria", "attacks_tracked_iraq", "attacks_tracked_syria",
    "attacks_claimed_iraq", "attacks_claimed_syria", "attacks_official_iraq", "casualties_iraq",
    "casualties_syria", "isis_members", "isis_members_iraq", "isis_members_syria", "recruits_iraq",
    "recruits_syria", "exits", "neutralised_iraq", "neutralised_syria", "operations_iraq",
    "operations_syria", "partnered_operations_iraq", "partnered_operations_syria",
    "partnered_neutralised_iraq", "partnered_neutralised_syria", "recruitable_pool", "legitimacy_iraq",
    "legitimacy_syria", "disruption", "leadership_strikes", "cooperation", "regime", "joint_operations",
    "intel_sharing", "smuggling_flow", "interdictions", "weapons_stock", "pipeline_stage",
    "iran_influence", "militia_presence", "turkey_pressure", "gulf_support", "tehran_camp",
    "pragmatic_camp", "openness_baghdad", "willingness_damascus", "damascus_capacity", "us_troops_iraq",
    "us_troops_syria", "camp_population", "alhol_iraqis", "repatriated", "detainees", "breakouts",
    "escapees", "guard", "isis_tempo", "isis_tempo_multiplier", "coalition_tempo_iraq",
    "coalition_tempo_syria",
)


def test_the_derived_layout_keeps_every_column_of_the_layout_before_the_stages():
    ctx = make_context()
    assert (ctx.zmap.n, len(ctx.zmap.smuggling_routes)) == (13, 3)
    layout = make_layout(13, 3)
    got = tuple((name, sl.stop - sl.start) for name, sl in layout.blocks.items())
    assert got == LAYOUT_BEFORE_STAGES
    starts = [sl.start for sl in layout.blocks.values()]
    assert starts == list(np.cumsum([0] + [w for _, w in LAYOUT_BEFORE_STAGES])[:-1])
    assert layout.width == sum(w for _, w in LAYOUT_BEFORE_STAGES) == 186


def test_month_rows_are_the_uniforms_month_by_month_and_their_blocks_contiguous_whatever_the_batch():
    layout = make_context().layout
    seeds = [run_seed(5, r) for r in range(37)]
    u = uniforms(seeds, 7, layout, stream=1)
    rows = [row.copy() for row in month_rows(seeds, 7, layout, stream=1, chunk=3)]  # chunks 3, 3, 1
    np.testing.assert_array_equal(np.stack(rows, axis=1), u)
    blocks = month_blocks(rows[4], layout)
    assert list(blocks) == list(layout.blocks)
    for name, sl in layout.blocks.items():
        np.testing.assert_array_equal(blocks[name], u[:, 4, sl], err_msg=name)
        assert blocks[name].flags.c_contiguous
    alone = [row.copy() for row in month_rows(seeds[20:21], 7, layout, stream=1)]
    np.testing.assert_array_equal(np.stack(alone, axis=1)[0], u[20])
    # from a later month (a run continuing a filtered state): the same numbers, the earlier
    # months skipped in each stream, whatever the chunking
    for first, chunk in ((4, 3), (5, 12), (7, 2)):
        later = [row.copy() for row in month_rows(seeds, 7, layout, stream=1, chunk=chunk, first=first)]
        assert len(later) == 7 - first
        if later:
            np.testing.assert_array_equal(np.stack(later, axis=1), u[:, first:])


def test_the_derived_outputs_keep_the_store_column_order():
    assert MONTHLY_OUTPUTS == OUTPUTS_BEFORE_STAGES
    owners = [o for stage in STAGES for o in stage.outputs]
    assert sorted(owners) == sorted(OUTPUTS_BEFORE_STAGES)  # each column has exactly one stage


def test_stage_data_flows_forward_and_every_state_field_is_carried():
    written: set[str] = set()
    for stage in STAGES:
        missing = set(stage.uses) - written
        assert not missing, f"stage {stage.name!r} uses {sorted(missing)} before any stage writes them"
        assert set(stage.reads) <= set(STATE_FIELDS), stage.name
        written |= set(stage.writes)
    assert set(STATE_FIELDS) <= written, sorted(set(STATE_FIELDS) - written)


class _Recorder:
    """Wraps an object and records which names a stage reads from it."""

    def __init__(self, inner, seen: set[str]):
        self._inner, self._seen = inner, seen

    def __getattr__(self, name):
        self._seen.add(name)
        return getattr(self._inner, name)

    def __getitem__(self, name):
        self._seen.add(name)
        return self._inner[name]

    def __contains__(self, name):
        self._seen.add(name)
        return name in self._inner


class _StageView:
    """What one stage sees of the month; records every name it reads or sets."""

    def __init__(self, month: Month, log: dict[str, set[str]]):
        put = object.__setattr__
        put(self, "_month", month)
        put(self, "_log", log)
        put(self, "s", _Recorder(month.s, log["reads"]))
        put(self, "P", _Recorder(month.P, log["params"]))
        put(self, "u", _Recorder(month.u, log["draws"]))
        put(self, "triggers", _Recorder(month.triggers, log["triggers"]))
        put(self, "ctx", month.ctx)
        put(self, "out", month.out)

    def __getattr__(self, name):  # this month's values set by stages
        if name not in self._log["writes"]:  # not its own value read back
            self._log["uses"].add(name)
        return getattr(self._month, name)

    def __setattr__(self, name, value):
        self._log["writes"].add(name)
        setattr(self._month, name, value)


@pytest.mark.parametrize("compiled", [False, True], ids=["reference", "compiled"])
def test_every_declaration_names_exactly_what_its_function_touches(compiled):
    """Run 108 months (history with its dated events, then a scenario) through instrumented
    stages: the parameters, blocks, state, values, triggers and outputs each stage touches are
    the ones it declares, for the numpy stages and for the compiled ones alike."""
    if compiled:
        pytest.importorskip("numba", reason="needs the fast extra (numba)")
    ctx = make_context(compiled=compiled)
    stages = ctx.stages
    batch, _ = make_batch(build_scenario("baseline"), [run_seed(2, r) for r in range(3)], 108)
    P = BatchParams(batch.params)
    s = init_state(P, ctx, batch.seeds)
    u = uniforms(batch.seeds, batch.months, ctx.layout)
    kinds = ("params", "draws", "reads", "uses", "writes", "triggers", "outputs")
    touched = {stage.name: {k: set() for k in kinds} for stage in stages}
    for t in range(batch.months):
        triggers = apply_schedule(P, batch, t)
        month = Month(s, P, {n: u[:, t, sl] for n, sl in ctx.layout.blocks.items()}, ctx, triggers)
        for stage in stages:
            log = {k: set() for k in kinds}
            before = set(month.out)
            stage.run(_StageView(month, log))
            log["outputs"] = set(month.out) - before - {"zone_attacks"}
            for k in kinds:
                touched[stage.name][k] |= log[k]
        nxt = step(s, P, u[:, t], ctx, triggers)
        for name in STATE_FIELDS:  # the instrumented month is the month
            np.testing.assert_array_equal(getattr(month, name), getattr(nxt, name), err_msg=name)
        s = nxt
    for stage in stages:
        for k in kinds:
            declared = {d.name for d in stage.draws} if k == "draws" else set(getattr(stage, k))
            assert touched[stage.name][k] == declared, (stage.name, k, touched[stage.name][k] ^ declared)


DUMMY_STAGE = '''
"""A dummy mechanism: rumours of ISIS presence, one per member at most, drawn per zone."""

from borderscen.kernel.stage import Draw, Stage
from borderscen.mechanisms import draws


def run(m):
    rumours = draws.binomial(m.u["rumours"], m.members, m.P.tracker_detection)
    m.out["rumours"] = rumours.sum(-1, keepdims=True)


STAGE = Stage(name="rumours", odd="7.99", run=run, mechanisms="draws",
              does="rumours of ISIS presence spread from its members",
              params="tracker_detection", draws=(Draw("rumours", "zones", revision=5),),
              uses="members", outputs="rumours")
'''


def test_a_new_stage_needs_only_its_module_and_its_line(tmp_path):
    module_path = tmp_path / "rumours.py"
    module_path.write_text(textwrap.dedent(DUMMY_STAGE))
    spec = importlib.util.spec_from_file_location("rumours", module_path)
    rumours = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rumours)
    stages = (*STAGES, rumours.STAGE)  # the one line in the stage list

    ctx, ctx_new = make_context(), make_context(stages=stages)
    # its random block goes after every existing column; no existing column moves
    assert list(ctx_new.layout.blocks)[-1] == "rumours"
    assert ctx_new.layout["rumours"] == slice(ctx.layout.width, ctx.layout.width + 13)
    assert {k: v for k, v in ctx_new.layout.blocks.items() if k != "rumours"} == ctx.layout.blocks
    # its output column follows the existing ones, which keep their numbers bit for bit
    assert ctx_new.outputs == (*MONTHLY_OUTPUTS, "rumours")
    batch, _ = make_batch(build_scenario("covert_channel"), [run_seed(5, r) for r in range(4)], 40)
    old, new = run_batch(batch, ctx), run_batch(batch, ctx_new)
    for k in MONTHLY_OUTPUTS:
        np.testing.assert_array_equal(new.monthly[k], old.monthly[k], err_msg=k)
    assert np.all(new.monthly["rumours"] <= new.monthly["isis_members"])
    assert new.monthly["rumours"].sum() > 0
    # its row in the ODD's process table, after the pipeline's
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_process_table import table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    rows = table(stages).splitlines()
    assert rows[-1].startswith(f"| {len(stages)} | `kernel/stages/rumours.py` | 7.99 | rumours of ISIS")
    assert "`rumours` (zones)" in rows[-1]
    assert rows[-2].startswith(f"| {len(STAGES)} | `kernel/stages/pipeline.py`")


def test_a_bad_width_or_a_block_with_two_owners_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match="width = 'cells'; allowed: a positive int, 'zones' or 'routes'"):
        Draw("x", "cells", revision=5).columns(13, 3)  # type: ignore[arg-type]
    twin = Stage(name="twin", odd="-", does="-", run=lambda m: None,
                 draws=(Draw("attacks", "zones", revision=5),))
    with pytest.raises(ValueError, match=r"random blocks declared by more than one stage: \['attacks'\]"):
        draw_blocks((*STAGES, twin))
    echo = Stage(name="echo", odd="-", does="-", run=lambda m: None, outputs="guard")
    with pytest.raises(ValueError, match=r"outputs declared by more than one stage: \['guard'\]"):
        monthly_outputs((*STAGES, echo))


def test_the_odd_process_table_is_current(repo_root):
    import subprocess

    out = subprocess.run([sys.executable, str(repo_root / "scripts" / "gen_process_table.py"), "--check"],
                         capture_output=True)
    assert out.returncode == 0, "run: python scripts/gen_process_table.py"
