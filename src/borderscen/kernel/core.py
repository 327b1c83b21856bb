"""The model's month, over arrays of shape (replications, zones) (ODD 3, process overview).

Order within a month:
  1. dated inputs: the history (2022 to the branch month), then the scenario's settings
  2. actors decide from last month's outcomes: coalition, Iran, militias, Turkey, Gulf,
     Baghdad, Damascus, SDF (mechanisms.politics)
  3. the Baghdad-Damascus relationship (mechanisms.cooperation)
  4. forces set their effort from the threat they see (mechanisms.forces)
  5. ISIS: movement, attrition and exits, camps, recruitment, leadership strikes, smuggling,
     attacks and their severity, observation
  6. the pipeline project
  7. outputs recorded into preallocated arrays
Every submodel is a pure function in ``borderscen.mechanisms``; this module only wires them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from borderscen.kernel.layout import Layout, make_layout, uniforms
from borderscen.mechanisms import (
    attacks,
    attrition,
    camps,
    coalition,
    cooperation,
    draws,
    forces,
    leadership,
    movement,
    pipeline,
    politics,
    recruitment,
    smuggling,
    tempo,
)
from borderscen.space import BorderMap, border_map

START = dt.date(2022, 1, 1)

#: Monthly outputs (one column each in ``timeseries.parquet``).
MONTHLY_OUTPUTS = (
    "attacks_iraq", "attacks_syria", "attacks_tracked_iraq", "attacks_tracked_syria",
    "attacks_claimed_iraq", "attacks_claimed_syria", "attacks_official_iraq",
    "casualties_iraq", "casualties_syria",
    "isis_members", "isis_members_iraq", "isis_members_syria", "recruits_iraq", "recruits_syria",
    "exits", "neutralised_iraq", "neutralised_syria", "operations_iraq", "operations_syria",
    "partnered_operations_iraq", "partnered_operations_syria",
    "partnered_neutralised_iraq", "partnered_neutralised_syria", "recruitable_pool",
    "legitimacy_iraq", "legitimacy_syria", "disruption", "leadership_strikes",
    "cooperation", "regime", "joint_operations", "intel_sharing",
    "smuggling_flow", "interdictions", "weapons_stock", "pipeline_stage",
    "iran_influence", "militia_presence", "turkey_pressure", "gulf_support",
    "tehran_camp", "pragmatic_camp", "openness_baghdad", "willingness_damascus",
    "damascus_capacity", "us_troops_iraq", "us_troops_syria", "camp_population",
    "alhol_iraqis", "repatriated", "detainees", "breakouts", "escapees", "guard",
    "isis_tempo", "isis_tempo_multiplier", "coalition_tempo_iraq", "coalition_tempo_syria",
)
#: Months run before January 2022 so that ISIS's state (pool, excitation, what forces have seen,
#: security, tempo) starts on its own dynamics rather than at zero (ODD 5).
SPINUP_MONTHS = 24
#: Zone outputs (tidy table: one row per month and zone).
ZONE_OUTPUTS = ("attacks", "members", "security", "intel")


# ----------------------------------------------------------------------------- parameters
class BatchParams:
    """Parameter values as (R, 1) arrays: each replication may carry its own posterior draw."""

    def __init__(self, values: Sequence[Mapping[str, float]]):
        names = list(values[0])
        self.__dict__["_values"] = {n: np.array([[float(v[n])] for v in values]) for n in names}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, name: str, value: float) -> None:
        self._values[name] = np.full_like(self._values[name], float(value))


# ----------------------------------------------------------------------------- static context
@dataclass(frozen=True)
class Context:
    """What does not change during a run: the map's arrays and the draw layout."""

    zmap: BorderMap
    layout: Layout
    is_syria: np.ndarray
    at_risk: np.ndarray
    initial_share_iraq: np.ndarray
    initial_share_syria: np.ndarray
    sdf_zones: np.ndarray
    damascus_zones: np.ndarray
    nbr_onehot: np.ndarray
    base_hops: np.ndarray
    base_in_syria: np.ndarray
    base_federal: np.ndarray
    alhol: int
    roj: int
    camp_zones: np.ndarray
    weapons_mask: np.ndarray


FEDERAL_BASES = ("Ain al-Asad", "Baghdad airport")


def make_context(zmap: BorderMap | None = None) -> Context:
    zmap = zmap or border_map()
    share = zmap.isis_share
    iraq_share = np.where(~zmap.is_syria, share, 0.0)
    syria_share = np.where(zmap.is_syria, share, 0.0)
    onehot = np.zeros((zmap.n, zmap.nbr.shape[1], zmap.n))
    for z in range(zmap.n):
        for d in range(zmap.nbr.shape[1]):
            if zmap.nbr_mask[z, d]:
                onehot[z, d, zmap.nbr[z, d]] = 1.0
    bases = [(z.base, zmap.index[z.id], z.country) for z in zmap.zones if z.base]
    camp_ids = {z.camp: zmap.index[z.id] for z in zmap.zones if z.camp}
    return Context(
        zmap=zmap, layout=make_layout(zmap.n, len(zmap.smuggling_routes)),
        is_syria=zmap.is_syria, at_risk=zmap.susceptible,
        initial_share_iraq=iraq_share / iraq_share.sum(),
        initial_share_syria=syria_share / syria_share.sum(),
        sdf_zones=zmap.held_by["sdf"], damascus_zones=zmap.held_by["damascus"],
        nbr_onehot=onehot, base_hops=zmap.hops[[i for _, i, _ in bases]],
        base_in_syria=np.array([c == "syria" for _, _, c in bases]),
        base_federal=np.array([n in FEDERAL_BASES for n, _, _ in bases]),
        alhol=camp_ids["al-Hol"], roj=camp_ids["Roj"],
        camp_zones=np.array([camp_ids["al-Hol"], camp_ids["Roj"]]),
        weapons_mask=(zmap.is_corridor | zmap.is_desert).astype(float),
    )


# ----------------------------------------------------------------------------- state
@dataclass
class State:
    """Everything that carries over from one month to the next, per replication."""

    members: np.ndarray
    pool: np.ndarray
    excitation: np.ndarray
    seen: np.ndarray
    legitimacy_iraq: np.ndarray
    legitimacy_syria: np.ndarray
    tehran: np.ndarray
    tehran_anchor: np.ndarray
    pragmatic: np.ndarray
    iran: np.ndarray
    militia: np.ndarray
    turkey: np.ndarray
    gulf: np.ndarray
    damascus_capacity: np.ndarray
    cooperation: np.ndarray
    regime: np.ndarray
    stage: np.ndarray
    disruption: np.ndarray
    weapons: np.ndarray
    alhol_residents: np.ndarray
    alhol_iraqis: np.ndarray
    roj_residents: np.ndarray
    detainees: np.ndarray
    security: np.ndarray
    intel: np.ndarray
    tempo: np.ndarray
    coalition_tempo: np.ndarray
    retaliation: np.ndarray
    #: US troops present (Iraq, Syria) and months the schedule has said 0 (the exit axes, ODD 7.1b)
    troops: np.ndarray
    exit_clock: np.ndarray
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def init_state(P: BatchParams, ctx: Context, seeds: Sequence[int] | None = None) -> State:
    """ODD 5: the state in January 2022.

    Members are spread over zones by the sources' emphasis. With ``seeds``, ISIS's own state
    (recruitable pool, self-excitation, what forces have seen, security, its tempo) is then spun
    up for :data:`SPINUP_MONTHS` under January 2022's settings from each seed's spin-up stream,
    and members are rescaled back to their initial totals; everything else starts as given.
    """
    s = _raw_state(P, ctx)
    if seeds is None or SPINUP_MONTHS == 0:
        return s
    u = uniforms(seeds, SPINUP_MONTHS, ctx.layout.width, stream=1)
    s.tempo = tempo.initial_state(u[:, 0, ctx.layout["tempo_move"]], P.tempo_p_steady_to_campaign,
                                  P.tempo_p_steady_to_lull, P.tempo_p_campaign_to_steady,
                                  P.tempo_p_lull_to_steady)
    spun = s
    for t in range(SPINUP_MONTHS):
        spun = step(spun, P, u[:, t], ctx, frozenset({"history", "spinup"}))
    fresh = _raw_state(P, ctx)
    m_iraq, m_syria = _country_sum(spun.members, ctx.is_syria)
    t_iraq, t_syria = _country_sum(fresh.members, ctx.is_syria)
    scale = np.where(ctx.is_syria, np.divide(t_syria, m_syria, out=np.ones_like(m_syria), where=m_syria > 0),
                     np.divide(t_iraq, m_iraq, out=np.ones_like(m_iraq), where=m_iraq > 0))
    fresh.members = np.round(spun.members * scale)
    for name in ("pool", "excitation", "seen", "security", "intel", "tempo", "coalition_tempo",
                 "retaliation"):
        setattr(fresh, name, getattr(spun, name))
    return fresh


def _raw_state(P: BatchParams, ctx: Context) -> State:
    R, Z = P.attack_rate_iraq.shape[0], ctx.zmap.n
    members = np.round(P.isis_members_iraq_initial * ctx.initial_share_iraq
                       + P.isis_members_syria_initial * ctx.initial_share_syria)
    legit_syria = P.legitimacy_syria_assad
    legit = np.where(ctx.is_syria, legit_syria, P.legitimacy_iraq)
    share = recruitment.recruitable_share(legit, np.zeros((R, Z)), P.activation_threshold)
    pool = P.pool_initial_fill * recruitment.pool_ceiling(ctx.at_risk, P.susceptible_fraction, share)
    zeros = np.zeros((R, 1))
    return State(
        members=members, pool=pool, excitation=np.zeros((R, Z)), seen=np.zeros((R, Z)),
        legitimacy_iraq=P.legitimacy_iraq.copy(), legitimacy_syria=legit_syria.copy(),
        tehran=P.tehran_camp_initial.copy(), tehran_anchor=P.tehran_camp_initial.copy(),
        pragmatic=P.pragmatic_camp_initial.copy(),
        iran=P.iran_influence_initial.copy(), militia=zeros.copy(), turkey=zeros.copy(),
        gulf=zeros.copy(), damascus_capacity=P.damascus_capacity_initial.copy(),
        cooperation=zeros.copy(), regime=np.full((R, 1), cooperation.NONE), stage=zeros.copy(),
        disruption=zeros.copy(), weapons=zeros.copy(),
        alhol_residents=P.alhol_population_initial.copy(), alhol_iraqis=P.alhol_iraqis_initial.copy(),
        roj_residents=P.roj_population_initial.copy(), detainees=P.detainees_initial.copy(),
        security=np.zeros((R, Z)), intel=np.zeros((R, Z)),
        tempo=np.zeros((R, 1)), coalition_tempo=np.zeros((R, 2)), retaliation=np.zeros((R, 2)),
        troops=np.concatenate([P.us_troops_iraq, P.us_troops_syria], axis=-1), exit_clock=np.zeros((R, 2)),
    )


# ----------------------------------------------------------------------------- the month
def _country_sum(x: np.ndarray, syria: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (x * ~syria).sum(-1, keepdims=True), (x * syria).sum(-1, keepdims=True)


def step(s: State, P: BatchParams, u: np.ndarray, ctx: Context, triggers: frozenset[str]) -> State:
    """Advance every replication one month. ``u``: this month's uniforms, (R, layout.width)."""
    L, syria, zmap = ctx.layout, ctx.is_syria, ctx.zmap
    col = {name: u[:, sl] for name, sl in L.blocks.items()}
    out = {}
    new_government = P.damascus_new_government > 0
    sdf_holds = P.sdf_control > 0

    # 2. actors ------------------------------------------------------------------------------
    # the scheduled exits as carried out: a delay and a residual force (ODD 7.1b)
    troops, exit_clock = coalition.troops_after_exit(
        np.concatenate([P.us_troops_iraq, P.us_troops_syria], axis=-1), s.troops, s.exit_clock,
        P.us_exit_delay_months, np.concatenate([P.residual_troops_iraq, P.residual_troops_syria], axis=-1))
    troops_iraq, troops_syria = troops[:, :1], troops[:, 1:]
    presence_iraq = coalition.presence(troops_iraq, P.us_troops_reference_iraq,
                                       P.coalition_troop_elasticity)
    presence_syria = coalition.presence(troops_syria, P.us_troops_reference_syria,
                                        P.coalition_troop_elasticity)
    # coverage (ISR, guarding support, strike reach) is a share: it saturates at full presence
    us_share_iraq, us_share_syria = np.minimum(1.0, presence_iraq), np.minimum(1.0, presence_syria)
    base_strength = np.where(ctx.base_in_syria, us_share_syria, us_share_iraq)
    base_strength = base_strength * np.where(ctx.base_federal, P.us_federal_bases, 1.0)
    isr = forces.isr_coverage(base_strength, ctx.base_hops, P.coalition_isr, P.isr_distance_decay)
    encouragement = P.us_encouragement * (1.0 - s.iran)

    iran = politics.iran_influence(s.iran, s.tehran, s.cooperation, P.iran_trilateral_push,
                                   P.iran_adjustment_rate)
    militia = politics.militia_presence(s.militia, iran, s.cooperation, P.militia_adjustment_rate)
    turkey = politics.turkey_pressure(P.turkey_opposition, s.cooperation, iran, s.stage)
    gulf = politics.gulf_support(P.gulf_pull, iran, P.gulf_iran_tolerance)

    seen_iraq, seen_syria = _country_sum(s.seen, syria)
    threat_iraq = politics.threat(seen_iraq, P.threat_reference_iraq)
    threat_syria = politics.threat(seen_syria, P.threat_reference_syria)
    jump = np.zeros_like(s.tehran)
    if "election" in triggers:
        jump = jump + P.election_shift + P.election_noise_sd * draws.normal(col["election_noise"])
    if "branch" in triggers:  # who forms the post-election government is uncertain
        jump = jump + P.branch_faction_shift + P.government_formation_sd * draws.normal(col["election_noise"])
    anchor = s.tehran_anchor + jump
    goal_t = politics.tehran_goal(anchor, iran, threat_iraq, P.iran_pressure, P.threat_salience,
                                  P.faction_pull)
    drift = (jump + P.faction_drift_rate * (goal_t - s.tehran - jump)
             + P.faction_noise_sd * draws.normal(col["faction_noise"]))
    tehran, pragmatic = politics.shift_to_tehran(s.tehran, s.pragmatic, drift)
    openness = politics.openness(tehran, pragmatic, threat_iraq, turkey, encouragement, P)

    capacity = np.where(new_government, politics.damascus_capacity(
        s.damascus_capacity, gulf, P.damascus_capacity_growth, P.coalition_partner_damascus,
        P.damascus_partner_capacity_gain, P.damascus_capacity_sd * draws.normal(col["capacity_noise"])),
        s.damascus_capacity)
    fear = P.damascus_militia_fear * np.minimum(1.0, iran + militia)
    willingness = politics.willingness(fear, gulf, turkey, threat_syria, P)

    guard_sdf = camps.sdf_guard(P.sdf_guard_capacity, P.sdf_us_dependence, us_share_syria,
                                P.sdf_turkey_sensitivity, turkey)
    guard = np.where(sdf_holds, guard_sdf, P.damascus_guard_capacity * capacity)

    # 3. the relationship (from the new government's first month) ---------------------------
    started = s.regime != cooperation.NONE
    shock = P.cooperation_noise_sd * draws.normal(col["cooperation"])
    goal = cooperation.target(openness, willingness)
    index = np.where(started, cooperation.next_index(s.cooperation, goal,
                                                     P.cooperation_adjustment_rate, shock),
                     P.cooperation_initial)
    index = np.where(new_government, index, 0.0)
    regime = np.where(new_government,
                      np.where(started, cooperation.next_regime(s.regime, index, P.deterioration_threshold,
                                                                P.partnership_threshold, P.regime_hysteresis),
                               cooperation.regime_of(index, P.deterioration_threshold,
                                                     P.partnership_threshold)),
                      cooperation.NONE)
    sharing = cooperation.intel_sharing(index, regime, P.intel_sharing_quality, P.channel_floor)
    in_partnership = regime == cooperation.PARTNERSHIP
    coordination = P.coordination_centre_interdiction * P.coordination_centres * in_partnership
    joint_ops = draws.poisson(col["joint_ops"], cooperation.expected_joint_operations(
        index, regime, P.joint_ops_per_month, P.joint_ops_ceiling))

    # 4. forces ------------------------------------------------------------------------------
    iraq_area = (~syria).astype(float)
    sdf_area = ctx.sdf_zones * sdf_holds
    dam_area = ctx.damascus_zones + ctx.sdf_zones * ~sdf_holds
    seen_sdf = (s.seen * sdf_area).sum(-1, keepdims=True)
    seen_dam = (s.seen * dam_area).sum(-1, keepdims=True)
    ref_sdf = P.threat_reference_syria * P.sdf_threat_share
    ref_dam = P.threat_reference_syria * (1.0 - P.sdf_threat_share)
    surge, eta_syria = P.surge_capacity, P.response_elasticity_syria
    ops_iraq = forces.effort(P.iraq_ct_ops_per_month, seen_iraq, P.threat_reference_iraq,
                             P.response_elasticity_iraq, surge, 1.0)
    assad_base = P.assad_ct_ops_per_month * (1.0 - P.assad_weakened * P.assad_ct_decline_2024)
    syrian_state_base = np.where(new_government, P.damascus_ct_ops_per_month * capacity, assad_base)
    ops_dam = forces.effort(syrian_state_base, seen_dam, ref_dam, eta_syria, surge, 1.0)
    ops_sdf = forces.effort(P.sdf_ct_ops_per_month, seen_sdf, ref_sdf, eta_syria, surge,
                            sdf_holds * guard_sdf)
    phi, tempo_sd = P.coalition_tempo_persistence, P.coalition_tempo_sd
    sigma = tempo_sd * np.sqrt(1.0 - phi * phi)
    coal_x = coalition.next_log_tempo(s.coalition_tempo, phi, sigma, draws.normal(col["coalition_tempo"]))
    coal_factor = coalition.tempo_factor(coal_x, phi, sigma) * (1.0 + s.retaliation)
    expected_coal_iraq = forces.effort(P.coalition_ops_iraq_per_month, seen_iraq, P.threat_reference_iraq,
                                       P.response_elasticity_coalition, surge, presence_iraq)
    partner_zones_syria = sdf_area + dam_area * P.coalition_partner_damascus
    has_partner = partner_zones_syria.sum(-1, keepdims=True) > 0
    seen_partner = (s.seen * partner_zones_syria).sum(-1, keepdims=True)
    expected_coal_syria = forces.effort(P.coalition_ops_syria_per_month, seen_partner, ref_sdf,
                                        P.response_elasticity_coalition, surge, presence_syria * has_partner)
    coal_ops = draws.poisson(col["coalition_ops"], np.concatenate([expected_coal_iraq, expected_coal_syria],
                                                                 axis=-1) * coal_factor)
    coal_iraq, coal_syria = coal_ops[:, :1], coal_ops[:, 1:]
    coal_z = (forces.allocate(coal_iraq, iraq_area, s.seen)
              + forces.allocate(coal_syria, partner_zones_syria, s.seen))
    ops_z = (forces.allocate(ops_iraq, iraq_area, s.seen) + forces.allocate(ops_dam, dam_area, s.seen)
             + forces.allocate(ops_sdf, sdf_area, s.seen) + coal_z
             + forces.allocate(joint_ops, zmap.is_border.astype(float), s.seen))
    syria_intel = P.syria_intel_base * np.where(new_government, capacity, 1.0)
    own_intel = iraq_area * P.iraq_intel_base + dam_area * syria_intel + sdf_area * P.sdf_intel_base
    intel = forces.combine_intel(own_intel, isr, sharing * zmap.is_border)
    intel_led = ops_z * intel

    # 5. ISIS ---------------------------------------------------------------------------------
    members = s.members
    cross = P.cross_border_permeability * np.exp(-(P.fortification + coordination))
    weights = movement.neighbour_weights(zmap.nbr, zmap.nbr_mask, zmap.nbr_cross, cross,
                                         zmap.hospitality, s.security, P.movement_security_aversion)
    movers = draws.binomial(col["movement"], members, P.member_mobility)
    members = movement.apply(members, movement.split(movers, weights), ctx.nbr_onehot)

    yield_z = np.where(syria, P.yield_per_operation_syria, P.yield_per_operation_iraq)
    hazard = attrition.member_hazard(ops_z, intel, yield_z)
    neutralised = draws.binomial(col["attrition"], members, hazard)
    members = members - neutralised
    exits = draws.binomial(col["exits"], members, attrition.exit_probability(P.disengagement_rate))
    members = members - exits
    partnered_share = np.divide(coal_z, ops_z, out=np.zeros_like(ops_z), where=ops_z > 0)
    harm = attrition.untargeted_operations(ops_z, intel) / 100.0
    harm_iraq, harm_syria = _country_sum(harm, syria)
    legit_target_syria = np.where(new_government,
                                  P.legitimacy_syria + P.governance_legitimacy_gain * (capacity - 0.5),
                                  P.legitimacy_syria_assad)
    legit_iraq = recruitment.next_legitimacy(s.legitimacy_iraq, P.legitimacy_iraq,
                                             P.legitimacy_adjustment_rate, harm_iraq, P.collateral_harm_cost)
    legit_syria = recruitment.next_legitimacy(s.legitimacy_syria, legit_target_syria,
                                              P.legitimacy_adjustment_rate, harm_syria,
                                              P.collateral_harm_cost)

    # camps: repatriation, transfers, spill-over, breakouts
    repatriated = camps.repatriation(s.alhol_iraqis, P.repatriation_per_month)
    alhol_iraqis = s.alhol_iraqis - repatriated
    alhol = s.alhol_residents - repatriated
    released = np.zeros_like(alhol)
    if "camp_closed" in triggers:  # al-Hol emptied: Iraqis go home, the rest disperse in Syria
        repatriated, released = repatriated + alhol_iraqis, alhol - alhol_iraqis
        alhol_iraqis, alhol = np.zeros_like(alhol), np.zeros_like(alhol)
    detainees = np.maximum(s.detainees - P.detainee_transfer_per_month, 0.0)
    residents = np.zeros_like(members)
    residents[:, ctx.alhol], residents[:, ctx.roj] = alhol[:, 0], s.roj_residents[:, 0]
    spill = draws.poisson(col["spillover"], camps.expected_spillover(residents, guard, P.camp_spillover_rate))
    near = members[:, ctx.camp_zones].sum(-1, keepdims=True)
    p_break = camps.breakout_hazard(guard, P.breakout_base_hazard, P.breakout_guard_sensitivity,
                                    near, P.breakout_half_members)
    recorded = "camp_breakout" in triggers
    breakout = (col["breakout"] < p_break) & ("history" not in triggers) | recorded
    hazard_breakout = breakout & (not recorded)
    escaped_detainees = np.minimum(detainees, np.where(
        recorded, P.forced_escapees, np.round(breakout * P.breakout_escape_fraction * detainees)))
    escaped_alhol = np.round(hazard_breakout * P.breakout_escape_fraction * alhol)
    escaped_roj = np.round(hazard_breakout * P.breakout_escape_fraction * s.roj_residents)
    detainees = detainees - escaped_detainees
    alhol_iraqis = alhol_iraqis - np.minimum(alhol_iraqis, np.round(escaped_alhol * alhol_iraqis
                                                                    / np.maximum(alhol, 1.0)))
    alhol, roj = alhol - escaped_alhol, s.roj_residents - escaped_roj
    joiners = (draws.binomial(col["detainee_joiners"], escaped_detainees, P.detainee_join_prob)
               + draws.binomial(col["resident_joiners"], escaped_alhol + escaped_roj, P.resident_join_prob))

    # recruitment from the pool
    legit_z = np.where(syria, legit_syria, legit_iraq)
    arrest = recruitment.arrest_probability(intel_led, members, P.deterrence_scale)
    share = recruitment.recruitable_share(legit_z, arrest, P.activation_threshold)
    ceiling = recruitment.pool_ceiling(ctx.at_risk, P.susceptible_fraction, share)
    returnees = P.returnee_recruitable_share * (repatriated * ctx.initial_share_iraq
                                                + released * ctx.initial_share_syria)
    pool = recruitment.renew_pool(s.pool, ceiling, P.pool_renewal_rate, returnees)
    expected = recruitment.expected_recruits(members, pool, ctx.at_risk, P.susceptible_fraction,
                                             P.recruitment_contact_rate, s.disruption)
    recruits = draws.poisson(col["recruitment"], expected)
    pool = recruitment.deplete_pool(pool, recruits, neutralised, P.facilitators_per_neutralised)
    members = members + recruits + spill
    members[:, ctx.alhol] += joiners[:, 0]

    # leadership strikes
    reach = (np.maximum(us_share_iraq, us_share_syria) * P.coalition_isr
             + P.iraq_intel_base * P.strike_partner_share)
    strike = ((col["strike"] < leadership.strike_probability(P.strike_rate, reach))
              | ("leadership_strike" in triggers))
    if "history" in triggers and "leadership_strike" not in triggers:
        strike = np.zeros_like(strike)  # in the history, strikes happen on their recorded dates
    disruption = leadership.next_disruption(s.disruption, strike, P.strike_disruption,
                                            P.disruption_recovery_months)

    # smuggling
    routes_cross = zmap.route_is_crossing
    hazard_routes = (np.where(routes_cross, P.crossing_interdiction, P.track_interdiction)
                     + P.fortification + coordination + intel[:, zmap.route_ends].mean(axis=-1))
    p_stop = smuggling.interdiction_probability(hazard_routes)
    route_share = smuggling.route_shares(p_stop, np.where(routes_cross, 0.0, P.track_detour_cost),
                                         P.route_choice_sensitivity)
    sd = P.smuggling_demand_sd
    demand = P.smuggling_demand * np.exp(sd * draws.normal(col["smuggling_demand"]) - sd * sd / 2)
    flow = smuggling.attempted_flow(demand, route_share, p_stop, P.smuggling_deterrence_elasticity)
    stopped = draws.binomial(col["interdiction"], np.round(flow * route_share), p_stop).sum(-1, keepdims=True)
    weapons = (1 - P.weapons_decay) * s.weapons + P.weapons_share * np.maximum(flow - stopped, 0.0)

    # attacks, severity, observation
    security = attacks.security(intel_led, P.security_scale)
    boost = attacks.weapons_boost(weapons, P.weapons_attack_boost, P.weapons_half_stock, ctx.weapons_mask)
    rate = np.where(syria, P.attack_rate_syria, P.attack_rate_iraq)
    lead_loss = strike if "spinup" not in triggers else np.zeros_like(strike)
    lull_shock = (P.tempo_leadership_lull_prob * lead_loss
                  + P.tempo_state_change_lull_prob * ("state_change" in triggers))
    lull_shock = np.clip(lull_shock, 0.0, 1.0)
    campaign_shock = P.tempo_announced_campaign_prob * ("campaign_announced" in triggers)
    isis_tempo = tempo.next_state(s.tempo, col["tempo_shock"], col["tempo_move"],
                                  P.tempo_p_steady_to_campaign, P.tempo_p_steady_to_lull,
                                  P.tempo_p_campaign_to_steady, P.tempo_p_lull_to_steady,
                                  lull_shock, campaign_shock)
    tempo_mult = tempo.multiplier(isis_tempo, P.tempo_campaign_multiplier, P.tempo_lull_multiplier)
    lam = tempo_mult * attacks.intensity(members, rate, P.attack_scale_exponent, security, boost,
                                         disruption, s.excitation, P.hawkes_branching)
    zone_attacks = draws.poisson(col["attacks"], lam)
    excitation = attacks.next_excitation(s.excitation, zone_attacks, P.hawkes_memory)
    tracked = draws.binomial(col["tracked"], zone_attacks, P.tracker_detection)
    claimed = draws.binomial(col["claimed"], zone_attacks, P.claim_probability)
    official = draws.binomial(col["official"], zone_attacks * ~syria, P.official_detection_iraq)
    tracked_partner = np.concatenate([(tracked * iraq_area).sum(-1, keepdims=True),
                                      (tracked * partner_zones_syria).sum(-1, keepdims=True)], axis=-1)
    seen_coal = np.concatenate([seen_iraq, seen_partner], axis=-1)
    retaliation = coalition.next_retaliation(s.retaliation, tracked_partner, seen_coal,
                                             P.retaliation_memory, P.retaliation_gain)
    seen = forces.smooth(s.seen, tracked, P.threat_memory)
    att_iraq, att_syria = _country_sum(zone_attacks, syria)

    # 6. pipeline ---------------------------------------------------------------------------
    durations = np.concatenate([P.pipeline_months_to_agreement, P.pipeline_months_to_financing,
                                P.pipeline_months_to_construction, P.pipeline_months_to_operation], axis=-1)
    p_adv = pipeline.advance_probability(s.stage, regime == cooperation.PARTNERSHIP, durations, turkey,
                                         P.pipeline_turkey_drag)
    stage = pipeline.next_stage(s.stage, col["pipeline_advance"], col["pipeline_regress"], p_adv,
                                regime == cooperation.DETERIORATION, P.pipeline_regress_prob)

    # 7. outputs ----------------------------------------------------------------------------
    m_iraq, m_syria = _country_sum(members, syria)
    rec_iraq, rec_syria = _country_sum(recruits + spill, syria)
    rec_syria = rec_syria + joiners
    n_iraq, n_syria = _country_sum(neutralised, syria)
    o_iraq, o_syria = _country_sum(ops_z, syria)
    pn_iraq, pn_syria = _country_sum(neutralised * partnered_share, syria)
    out = {
        "attacks_iraq": att_iraq, "attacks_syria": att_syria,
        "attacks_tracked_iraq": (tracked * ~syria).sum(-1, keepdims=True),
        "attacks_tracked_syria": (tracked * syria).sum(-1, keepdims=True),
        "attacks_claimed_iraq": (claimed * ~syria).sum(-1, keepdims=True),
        "attacks_claimed_syria": (claimed * syria).sum(-1, keepdims=True),
        "attacks_official_iraq": official.sum(-1, keepdims=True),
        "casualties_iraq": attacks.severity(att_iraq, col["severity_iraq"], P.severity_exponent),
        "casualties_syria": attacks.severity(att_syria, col["severity_syria"], P.severity_exponent),
        "isis_members": m_iraq + m_syria, "isis_members_iraq": m_iraq, "isis_members_syria": m_syria,
        "recruits_iraq": rec_iraq, "recruits_syria": rec_syria, "exits": exits.sum(-1, keepdims=True),
        "neutralised_iraq": n_iraq, "neutralised_syria": n_syria,
        "operations_iraq": o_iraq, "operations_syria": o_syria,
        "partnered_operations_iraq": coal_iraq, "partnered_operations_syria": coal_syria,
        "partnered_neutralised_iraq": pn_iraq, "partnered_neutralised_syria": pn_syria,
        "recruitable_pool": pool.sum(-1, keepdims=True),
        "legitimacy_iraq": legit_iraq, "legitimacy_syria": legit_syria, "disruption": disruption,
        "leadership_strikes": strike.astype(float),
        "cooperation": np.where(regime == cooperation.NONE, np.nan, index),
        "regime": regime.astype(float),
        "joint_operations": joint_ops, "intel_sharing": sharing, "smuggling_flow": flow,
        "interdictions": stopped, "weapons_stock": weapons, "pipeline_stage": stage.astype(float),
        "iran_influence": iran, "militia_presence": militia, "turkey_pressure": turkey,
        "gulf_support": gulf, "tehran_camp": tehran, "pragmatic_camp": pragmatic,
        "openness_baghdad": openness, "willingness_damascus": willingness,
        "damascus_capacity": capacity, "us_troops_iraq": troops_iraq,
        "us_troops_syria": troops_syria,
        "camp_population": alhol + roj, "alhol_iraqis": alhol_iraqis, "repatriated": repatriated,
        "detainees": detainees, "breakouts": breakout.astype(float),
        "escapees": escaped_detainees + escaped_alhol + escaped_roj, "guard": guard,
        "isis_tempo": isis_tempo, "isis_tempo_multiplier": tempo_mult,
        "coalition_tempo_iraq": coal_factor[:, :1],
        "coalition_tempo_syria": coal_factor[:, 1:],
        "zone_attacks": zone_attacks, "zone_security": security, "zone_intel": intel,
    }
    return State(
        members=members, pool=pool, excitation=excitation, seen=seen, legitimacy_iraq=legit_iraq,
        legitimacy_syria=legit_syria, tehran=tehran, tehran_anchor=anchor, pragmatic=pragmatic,
        iran=iran, militia=militia,
        turkey=turkey, gulf=gulf, damascus_capacity=capacity, cooperation=index, regime=regime,
        stage=stage, disruption=disruption, weapons=weapons, alhol_residents=alhol,
        alhol_iraqis=alhol_iraqis, roj_residents=roj, detainees=detainees, security=security,
        intel=intel, tempo=isis_tempo, coalition_tempo=coal_x, retaliation=retaliation,
        troops=troops, exit_clock=exit_clock, outputs=out,
    )


# ----------------------------------------------------------------------------- a whole batch
@dataclass(frozen=True)
class Batch:
    """R replications of one scenario: parameter sets (one per replication), seeds and inputs.

    ``schedule`` maps a month index to the parameter settings and triggers of that month
    (history, the scenario's branch settings, dated events), the same for every replication.
    """

    params: tuple[Mapping[str, float], ...]
    seeds: tuple[int, ...]
    months: int
    schedule: Mapping[int, tuple[Mapping[str, float], frozenset[str]]]
    history_months: int


@dataclass
class BatchResult:
    monthly: dict[str, np.ndarray]  # name -> (R, months)
    zones: dict[str, np.ndarray]  # name -> (R, months, Z)
    dates: list[dt.date]


def month_dates(months: int) -> list[dt.date]:
    return [dt.date(START.year + (START.month - 1 + t) // 12, (START.month - 1 + t) % 12 + 1, 1)
            for t in range(months)]


def apply_schedule(P: BatchParams, batch: Batch, t: int) -> frozenset[str]:
    settings, triggers = batch.schedule.get(t, ({}, frozenset()))
    for name, value in settings.items():
        P.set(name, value)
    return triggers | ({"history"} if t < batch.history_months else frozenset())


def run_batch(batch: Batch, ctx: Context | None = None, initial: State | None = None,
              first_month: int = 0) -> BatchResult:
    """Run every replication of ``batch`` to its horizon, all months recorded in arrays.

    With ``initial`` (a state after ``first_month`` months, e.g. a filtered particle cloud), the
    run starts there instead of January 2022: the dated settings of the earlier months are
    applied to the parameters (their triggers are not fired again), months from ``first_month``
    on draw from each seed's own uniforms as always, and the earlier months are left NaN for the
    caller to fill. Without it, ``first_month`` must be 0.
    """
    ctx = ctx or make_context()
    P = BatchParams(batch.params)
    R, T, Z = len(batch.seeds), batch.months, ctx.zmap.n
    if initial is None and first_month:
        raise ValueError(f"first_month = {first_month!r} needs an initial state (initial=...)")
    u = uniforms(batch.seeds, T, ctx.layout.width)
    monthly = {k: np.empty((R, T)) for k in MONTHLY_OUTPUTS}
    zones = {k: np.empty((R, T, Z)) for k in ZONE_OUTPUTS}
    if initial is None:
        s = init_state(P, ctx, batch.seeds)
    else:
        if initial.members.shape[0] != R:
            raise ValueError(f"initial state has {initial.members.shape[0]} replications; the batch has {R}")
        s, first_month = initial, min(int(first_month), T)
        for t in range(first_month):
            for name, value in batch.schedule.get(t, ({}, frozenset()))[0].items():
                P.set(name, value)
        for a in (*monthly.values(), *zones.values()):
            a[:, :first_month] = np.nan
    for t in range(first_month, T):
        s = step(s, P, u[:, t], ctx, apply_schedule(P, batch, t))
        record(s, t, monthly, zones)
    return BatchResult(monthly, zones, month_dates(T))


def record(s: State, t: int, monthly: dict[str, np.ndarray], zones: dict[str, np.ndarray]) -> None:
    """Write month ``t`` of state ``s`` into the preallocated output arrays."""
    for k in MONTHLY_OUTPUTS:
        monthly[k][:, t] = s.outputs[k][:, 0]
    zones["attacks"][:, t] = s.outputs["zone_attacks"]
    zones["members"][:, t] = s.members
    zones["security"][:, t] = s.security
    zones["intel"][:, t] = s.intel
