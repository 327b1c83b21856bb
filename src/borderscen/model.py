"""The borderscen Mesa model: wires the zone network, the actors, ISIS cells and the monthly
schedule (ODD 3, process overview and scheduling).

Each step is one calendar month. Order within a month:
  1. draw this month's random numbers (fixed shapes per stream: common random numbers)
  2. apply dated events (parameter changes, election, forced breakout)
  3. actors decide, from last month's outcomes: coalition, Iran, militias, Turkey, Gulf,
     Baghdad, Damascus, SDF
  4. the Baghdad-Damascus relationship updates (index, regime, joint operations, sharing)
  5. ISIS cells move, are attrited, recruit (camps, breakouts), split; smuggling flows;
     attacks happen and are (partly) reported
  6. the pipeline project advances or slips
  7. outputs are recorded with Mesa's DataCollector
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from borderscen.actors import (
    SDF,
    Baghdad,
    Camp,
    Coalition,
    Damascus,
    Gulf,
    Iran,
    IsisCells,
    Militias,
    Turkey,
)
from borderscen.actors.coalition import add_months
from borderscen.mechanisms import (
    attacks,
    attrition,
    camps,
    cooperation,
    intelligence,
    movement,
    observation,
    pipeline,
    recruitment,
    smuggling,
)
from borderscen.randomness import (
    SeedLike,
    as_seed_sequence,
    binomial_from_uniform,
    poisson_from_uniform,
    spawn_streams,
)
from borderscen.scenarios import Event, Scenario, build_scenario, parse_month
from borderscen.space import border_map

DEFAULT_START = "2025-01"
DEFAULT_HORIZON = 36  # months: January 2025 to December 2027
#: Joint Baghdad-Damascus operations per regime, as a share of the full-cooperation rate.
JOINT_OPS_BY_REGIME = {"deterioration": 0.0, "limited": 0.5, "partnership": 1.0}
#: Months of reported attacks Baghdad looks back over when judging the threat.
THREAT_MEMORY = 3

#: Model-level outputs recorded every month (column names of the results tables).
OUTPUTS = (
    "date", "attacks_iraq", "attacks_syria", "attacks_reported", "attacks_reported_iraq",
    "attacks_reported_syria", "isis_fighters", "isis_cells", "isis_neutralised", "isis_recruits",
    "cooperation", "regime", "operations", "joint_operations", "coalition_operations", "smuggling_flow",
    "interdictions", "weapons_stock", "pipeline_stage", "pipeline_route_security", "iran_influence",
    "militia_presence",
    "turkey_pressure", "gulf_support", "us_troops_iraq", "us_troops_syria", "camp_population",
    "detainees", "repatriated", "breakouts", "guard_capacity", "faction_balance",
    "openness_baghdad", "willingness_damascus", "damascus_capacity", "us_stay_support",
)
#: Zone-level outputs (tidy table: one row per month and zone).
ZONE_OUTPUTS = ("attacks", "members", "security", "intel")


def _allocate(total: float, mask: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spread a force's operations over its zones in proportion to ISIS presence (+1)."""
    w = mask * weight
    s = w.sum()
    return total * w / s if s > 0 else np.zeros_like(weight)


class BorderModel(mesa.Model):
    """Iraq-Syria border security cooperation after Assad, one month per step.

    >>> m = BorderModel("limited", seed=1)
    >>> df = m.run()          # or m.step() repeatedly; m.datacollector is Mesa's
    """

    def __init__(self, scenario: Scenario | str = "baseline", seed: SeedLike = None,
                 horizon_months: int = DEFAULT_HORIZON, start: str = DEFAULT_START,
                 overrides: Mapping[str, Any] | None = None, events: Sequence[Event] = ()):
        ss = as_seed_sequence(seed)
        super().__init__(rng=int(ss.generate_state(1)[0]))
        if isinstance(scenario, str):
            scenario = build_scenario(scenario, overrides, events)
        elif overrides or events:
            scenario = scenario.with_changes(overrides, events)
        self.spec = scenario
        self.p = scenario.params.updated({})  # own copy: events change it in place
        self.seed = seed
        self.streams = spawn_streams(ss)
        self.horizon = int(horizon_months)
        self.start = parse_month(start)
        self.month = self.start
        self.month_index = 0
        self.map = border_map()
        self.space = self.map.network(self.random)
        self._events = {}
        for ev in scenario.events:
            self._events.setdefault(ev.month, []).append(ev)
        self._init_state()
        self.datacollector = mesa.DataCollector(model_reporters={k: k for k in OUTPUTS})
        self.zone_history: list[np.ndarray] = []

    # ------------------------------------------------------------------ initialisation (ODD 5)
    def _init_state(self) -> None:
        p, zmap = self.p, self.map
        zone_cell = {zid: self.space[zid] for zid in zmap.ids}
        self.cooperation = p.cooperation_initial
        self.regime = cooperation.initial_regime(self.cooperation, p.deterioration_threshold,
                                                 p.partnership_threshold)
        self.intel_sharing = 0.0
        self.coordination = 0.0
        self.joint_operations = 0
        self.pipeline_stage = 0
        self.triggers: set[str] = set()
        self.recent_reported = deque([p.threat_reference_attacks] * THREAT_MEMORY,
                                     maxlen=THREAT_MEMORY)
        # actors, in the order they decide each month
        self.coalition = Coalition(self)
        self.iran = Iran(self)
        self.militias = Militias(self)
        self.turkey = Turkey(self)
        self.gulf = Gulf(self)
        self.baghdad = Baghdad(self, zone_cell["baghdad"])
        self.damascus = Damascus(self, zone_cell["damascus"])
        self.sdf = SDF(self, zone_cell["hasakah"])
        self.actors = (self.coalition, self.iran, self.militias, self.turkey, self.gulf,
                       self.baghdad, self.damascus, self.sdf)
        camp_zones = [z for z in zmap.zones if z.camp]
        sizes = {"al-Hol": (p.alhol_population_initial, p.alhol_iraqis_initial),
                 "Roj": (p.roj_population_initial, 0.0)}
        self.camps = tuple(Camp(self, zone_cell[z.id], z.camp, *sizes[z.camp]) for z in camp_zones)
        self.camp_zone = np.array([zmap.index[z.id] for z in camp_zones])
        self.alhol = next(c for c in self.camps if c.name == "al-Hol")
        self.alhol_zone = zmap.index[self.alhol.cell.coordinate]
        self._init_isis()
        n = zmap.n
        self.security = np.zeros(n)
        self.intel = np.zeros(n)
        self.excitation = np.zeros(n)
        self.backlash = np.zeros(n)
        self.weapons_stock = 0.0
        self.route_flow = np.zeros(len(zmap.smuggling_routes))
        self._zero_flows()

    def _init_isis(self) -> None:
        p, zmap, rng = self.p, self.map, self.streams["init"]
        n_cells = int(p.isis_cells_initial)
        self.isis = IsisCells(capacity=max(4 * n_cells, 400))
        zones = rng.choice(zmap.n, size=n_cells, p=zmap.isis_share)
        sizes = rng.multinomial(int(p.isis_members_initial), np.full(n_cells, 1.0 / n_cells))
        for zone, size in zip(zones, sizes, strict=True):
            if size > 0:
                self.isis.add(self, int(zone), int(size))

    def _zero_flows(self) -> None:
        self.zone_attacks = np.zeros(self.map.n, np.int64)
        self.attacks_reported_iraq = self.attacks_reported_syria = 0
        self.isis_neutralised = self.isis_recruits = self.breakouts = 0
        self.operations = 0.0
        self.repatriated = self.smuggling_flow = self.interdictions = 0.0

    # ------------------------------------------------------------------ schedule (ODD 3)
    def step(self) -> None:
        self.month = add_months(self.start, self.month_index)
        self.draws = self._draw()
        self.triggers = self._apply_events()
        for actor in self.actors:
            actor.step()
        self._relationship()
        self._isis_month()
        self._pipeline()
        self.zone_history.append(np.stack([self.zone_attacks, self.isis.members_by_zone(self.map.n),
                                           self.security, self.intel]))
        self.datacollector.collect(self)
        self.month_index += 1
        if self.month_index >= self.horizon:
            self.running = False

    def _draw(self) -> dict[str, np.ndarray]:
        """This month's random numbers: the same shapes every month, whatever the state."""
        s, cap, n = self.streams, self.isis.capacity, self.map.n
        return {
            "politics": s["politics"].standard_normal(1),
            "cooperation": s["cooperation"].standard_normal(1),
            "operations": s["operations"].random(2),
            "movement": s["movement"].random((2, cap)),
            "attrition": s["attrition"].random(n),
            "recruitment": s["recruitment"].random(n),
            "camps": s["camps"].random(5),
            "smuggling": np.concatenate([s["smuggling"].standard_normal(1),
                                         s["smuggling"].random(len(self.map.smuggling_routes))]),
            "attacks": s["attacks"].random(n),
            "observation": s["observation"].random(n),
            "pipeline": s["pipeline"].random(2),
        }

    def _apply_events(self) -> set[str]:
        fired = set()
        for ev in self._events.get(self.month, ()):
            for name, value in ev.set.items():
                self.p.set_in_place(name, value)
            if ev.trigger:
                fired.add(ev.trigger)
        return fired

    # ------------------------------------------------------------------ submodels
    def _relationship(self) -> None:
        """ODD 7.7: cooperation index, regime, intelligence sharing and joint operations."""
        p = self.p
        goal = cooperation.target(self.baghdad.openness, self.damascus.willingness)
        shock = p.cooperation_noise_sd * float(self.draws["cooperation"][0])
        self.cooperation = cooperation.next_index(self.cooperation, goal,
                                                  p.cooperation_adjustment_rate, shock)
        self.regime = cooperation.next_regime(self.regime, self.cooperation,
                                              p.deterioration_threshold, p.partnership_threshold,
                                              p.regime_hysteresis)
        active = self.regime != cooperation.DETERIORATION
        self.intel_sharing = p.intel_sharing_quality * self.cooperation * active
        self.coordination = (p.coordination_centre_interdiction
                             if self.regime == cooperation.PARTNERSHIP else 0.0)
        expected = p.joint_ops_per_month * self.cooperation * JOINT_OPS_BY_REGIME[self.regime]
        self.joint_operations = int(poisson_from_uniform(self.draws["operations"][1], expected))

    def _effort_and_intel(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Operations per zone from every force, and the intelligence behind them (ODD 7.1)."""
        p, zmap = self.p, self.map
        weight = members + 1.0
        effort = (_allocate(self.baghdad.ct_operations + self.coalition.operations,
                            zmap.iraqi_state, weight)
                  + _allocate(self.damascus.ct_operations, zmap.held_by["damascus"], weight)
                  + _allocate(self.sdf.ct_operations, zmap.held_by["sdf"], weight)
                  + _allocate(self.joint_operations, zmap.is_border, weight))
        own = (zmap.iraqi_state * p.iraq_intel_base
               + zmap.held_by["damascus"] * p.syria_intel_base * self.damascus.capacity
               + zmap.held_by["sdf"] * p.sdf_intel_base)
        intel = intelligence.combine(own, self.coalition.isr, self.intel_sharing * zmap.is_border)
        return effort, intel

    def _isis_month(self) -> None:
        """ISIS cells' month: movement, attrition, recruitment, smuggling, attacks (ODD 3, step 5)."""
        self._move_cells()
        members = self.isis.members_by_zone(self.map.n)
        effort, self.intel = self._effort_and_intel(members)
        self.operations = float(effort.sum())
        intel_led = effort * self.intel
        self._attrition(effort, members)
        self._recruitment(intel_led)
        self._smuggling()
        self._attacks(intel_led)

    def _move_cells(self) -> None:
        """ODD 7.9."""
        p, zmap, d = self.p, self.map, self.draws["movement"]
        cross = p.cross_border_permeability * np.exp(-(p.fortification + self.coordination))
        new_zone = movement.destinations(self.isis.zone, d[0], d[1], p.cell_mobility, zmap.nbr,
                                         zmap.nbr_mask, zmap.nbr_cross, cross, self.security,
                                         p.movement_security_aversion, zmap.hospitality)
        self.isis.relocate(self, new_zone)

    def _attrition(self, effort: np.ndarray, members: np.ndarray) -> None:
        """ODD 7.2: zone losses drawn, then split over cells; civilian harm feeds backlash."""
        p, cells = self.p, self.isis
        expected, harm = attrition.expected_losses(effort, self.intel, members,
                                                   p.exposed_civilians_per_member,
                                                   p.neutralised_per_operation,
                                                   p.detection_half_members)
        q = attrition.loss_probability(expected, members)
        zone_losses = binomial_from_uniform(self.draws["attrition"], members, q)
        alive = np.flatnonzero(cells.alive)
        cells.members[alive] -= attrition.allocate_to_cells(zone_losses, cells.zone[alive],
                                                            cells.members[alive])
        self.isis_neutralised = int(zone_losses.sum())
        self.backlash = recruitment.next_backlash(self.backlash, harm, p.collateral_backlash,
                                                  p.backlash_decay)

    def _recruitment(self, intel_led: np.ndarray) -> None:
        """ODD 7.4 and 7.5: recruits from grievance, camp spill-over and breakouts join cells."""
        p, zmap, cells = self.p, self.map, self.isis
        members = cells.members_by_zone(zmap.n)
        legitimacy = np.where(zmap.is_syria, p.legitimacy_syria, p.legitimacy_iraq) - self.backlash
        arrest = recruitment.arrest_probability(intel_led, members, p.deterrence_scale)
        share = recruitment.recruitable_share(legitimacy.clip(0, 1), arrest, p.activation_threshold)
        expected = recruitment.expected_recruits(zmap.susceptible, share, members,
                                                 p.recruitment_rate, p.recruitment_network_half)
        residents = np.array([c.residents for c in self.camps])
        expected[self.camp_zone] += camps.spillover(residents, self.sdf.guard, p.camp_spillover_rate)
        recruits = poisson_from_uniform(self.draws["recruitment"], expected)
        recruits[self.alhol_zone] += self._camps_month()  # escapees regroup around al-Hol
        for zone in np.flatnonzero(recruits):
            cells.reinforce_or_add(self, int(zone), int(recruits[zone]))
        self.isis_recruits = int(recruits.sum())
        cells.split_large(self, p.cell_split_size)
        cells.remove_dead()

    def _attacks(self, intel_led: np.ndarray) -> None:
        """ODD 7.3 and 7.10: Hawkes attacks per zone, then what gets reported."""
        p, zmap = self.p, self.map
        members = self.isis.members_by_zone(zmap.n)
        self.security = attacks.security(intel_led, p.security_scale)
        boost = attacks.weapons_boost(self.weapons_stock, p.weapons_attack_boost,
                                      p.weapons_half_stock, zmap.is_corridor | zmap.is_desert)
        base = attacks.base_intensity(members, p.attack_rate, self.security, boost)
        lam = attacks.intensity(base, self.excitation, p.hawkes_branching)
        self.zone_attacks = poisson_from_uniform(self.draws["attacks"], lam)
        self.excitation = attacks.next_excitation(self.excitation, self.zone_attacks,
                                                  p.hawkes_memory)
        report_prob = np.where(zmap.is_syria, p.report_prob_syria, p.report_prob_iraq)
        seen = observation.reported(self.zone_attacks, report_prob, self.draws["observation"])
        self.attacks_reported_iraq = int(seen[~zmap.is_syria].sum())
        self.attacks_reported_syria = int(seen[zmap.is_syria].sum())
        self.recent_reported.append(self.attacks_reported_iraq)

    def _camps_month(self) -> int:
        """Repatriation and breakouts; returns escapees who join ISIS (ODD 7.5)."""
        p, u = self.p, self.draws["camps"]
        self.repatriated = self.alhol.repatriate(self.baghdad.repatriation_pace)
        hazard = camps.breakout_hazard(self.sdf.guard, p.breakout_base_hazard,
                                       p.breakout_guard_sensitivity)
        self.breakouts = int(u[0] < hazard or "camp_breakout" in self.triggers)
        if not self.breakouts:
            return 0
        escaped_detainees = round(p.breakout_escape_fraction * self.sdf.detainees)
        self.sdf.detainees -= escaped_detainees
        escaped_residents = round(sum(c.release(p.breakout_escape_fraction) for c in self.camps))
        return int(binomial_from_uniform(u[1], escaped_detainees, p.detainee_join_prob)
                   + binomial_from_uniform(u[2], escaped_residents, p.resident_join_prob))

    def _smuggling(self) -> None:
        p, zmap, d = self.p, self.map, self.draws["smuggling"]
        crossing = zmap.route_is_crossing
        hazard = (np.where(crossing, p.crossing_interdiction, p.track_interdiction)
                  + p.fortification + self.coordination + self.intel[zmap.route_ends].mean(axis=1))
        p_stop = smuggling.interdiction_probability(hazard)
        shares = smuggling.route_shares(p_stop, np.where(crossing, 0.0, p.track_detour_cost),
                                        p.route_choice_sensitivity)
        sd = p.smuggling_demand_sd
        demand = p.smuggling_demand * np.exp(sd * d[0] - sd * sd / 2)
        total = smuggling.attempted_flow(demand, shares, p_stop, p.smuggling_deterrence_elasticity)
        self.route_flow = total * shares
        stopped = binomial_from_uniform(d[1:], np.round(self.route_flow), p_stop)
        self.smuggling_flow = float(total)
        self.interdictions = float(stopped.sum())
        delivered = max(total - self.interdictions, 0.0)
        self.weapons_stock = (1 - p.weapons_decay) * self.weapons_stock + p.weapons_share * delivered

    def _pipeline(self) -> None:
        """ODD 7.8: the Kirkuk-Banias project."""
        p = self.p
        u = self.draws["pipeline"]
        self.pipeline_route_security = float(self.security[self.map.is_pipeline].mean())
        chance = pipeline.advance_probability(self.regime, self.pipeline_route_security,
                                              p.pipeline_route_security_min, p.pipeline_advance_prob,
                                              self.turkey.pressure, p.pipeline_turkey_drag,
                                              p.pipeline_cost_drag)
        self.pipeline_stage = pipeline.next_stage(self.pipeline_stage, self.regime, u[0], u[1],
                                                  chance, p.pipeline_regress_prob)

    # ------------------------------------------------------------------ outputs
    @property
    def date(self) -> dt.date:
        return self.month

    @property
    def recent_reported_attacks_iraq(self) -> float:
        return float(np.mean(self.recent_reported))

    attacks_iraq = property(lambda self: int(self.zone_attacks[~self.map.is_syria].sum()))
    attacks_syria = property(lambda self: int(self.zone_attacks[self.map.is_syria].sum()))
    attacks_reported = property(lambda self: self.attacks_reported_iraq + self.attacks_reported_syria)
    isis_fighters = property(lambda self: self.isis.total)
    isis_cells = property(lambda self: self.isis.count)
    iran_influence = property(lambda self: self.iran.influence)
    militia_presence = property(lambda self: self.militias.presence)
    turkey_pressure = property(lambda self: self.turkey.pressure)
    gulf_support = property(lambda self: self.gulf.support)
    us_troops_iraq = property(lambda self: self.coalition.troops_iraq)
    us_troops_syria = property(lambda self: self.coalition.troops_syria)
    coalition_operations = property(lambda self: self.coalition.operations)
    camp_population = property(lambda self: sum(c.residents for c in self.camps))
    detainees = property(lambda self: self.sdf.detainees)
    guard_capacity = property(lambda self: self.sdf.guard)
    faction_balance = property(lambda self: self.baghdad.faction_balance)
    openness_baghdad = property(lambda self: self.baghdad.openness)
    willingness_damascus = property(lambda self: self.damascus.willingness)
    damascus_capacity = property(lambda self: self.damascus.capacity)
    us_stay_support = property(lambda self: self.baghdad.us_stay_support)

    def run(self) -> pd.DataFrame:
        """Step to the horizon and return the monthly outputs."""
        while self.running:
            self.step()
        return self.to_frame()

    def to_frame(self) -> pd.DataFrame:
        """Monthly model outputs, one row per month, with its date."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "step", np.arange(1, len(df) + 1))
        df["date"] = pd.to_datetime(df["date"])
        return df

    def zone_frame(self) -> pd.DataFrame:
        """Monthly zone outputs (attacks, members, security, intel), one row per month and zone."""
        if not self.zone_history:
            return pd.DataFrame(columns=["step", "zone", *ZONE_OUTPUTS])
        arr = np.stack(self.zone_history)  # (steps, outputs, zones)
        steps, _, n = arr.shape
        out = pd.DataFrame({"step": np.repeat(np.arange(1, steps + 1), n),
                            "zone": np.tile(np.array(self.map.ids), steps)})
        for i, name in enumerate(ZONE_OUTPUTS):
            out[name] = arr[:, i, :].ravel()
        return out

    def release(self) -> None:
        """Drop agents and per-run data so a finished model frees its memory at once."""
        self.remove_all_agents()
        self.zone_history.clear()


def simulate(scenario: Scenario | str = "baseline", seed: SeedLike = None,
             horizon_months: int = DEFAULT_HORIZON, start: str = DEFAULT_START,
             overrides: Mapping[str, Any] | None = None,
             events: Sequence[Event] = ()) -> pd.DataFrame:
    """One run to the horizon, as a DataFrame (the notebook one-liner)."""
    model = BorderModel(scenario, seed=seed, horizon_months=horizon_months, start=start,
                        overrides=overrides, events=events)
    try:
        return model.run()
    finally:
        model.release()
