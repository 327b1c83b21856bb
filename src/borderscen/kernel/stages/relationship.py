"""The Baghdad-Damascus relationship, from the new government's first month: index, regime,
intelligence sharing, coordination and joint operations (ODD 7.7)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import cooperation, draws


def run(m: Month) -> None:
    s, P, u = m.s, m.P, m.u
    started = s.regime != cooperation.NONE
    shock = P.cooperation_noise_sd * draws.normal(u["cooperation"])
    goal = cooperation.target(m.openness, m.willingness)
    moved = cooperation.next_index(s.cooperation, goal, P.cooperation_adjustment_rate, shock)
    index = np.where(started, moved, P.cooperation_initial)
    m.cooperation = np.where(m.new_government, index, 0.0)
    low, high = P.deterioration_threshold, P.partnership_threshold
    moved_regime = cooperation.next_regime(s.regime, m.cooperation, low, high, P.regime_hysteresis)
    regime = np.where(started, moved_regime, cooperation.regime_of(m.cooperation, low, high))
    m.regime = np.where(m.new_government, regime, cooperation.NONE)
    m.sharing = cooperation.intel_sharing(m.cooperation, m.regime, P.intel_sharing_quality, P.channel_floor)
    m.coordination = (P.coordination_centre_interdiction * P.coordination_centres
                      * (m.regime == cooperation.PARTNERSHIP))
    m.joint_ops = m.ctx.draws.poisson(u["joint_ops"], cooperation.expected_joint_operations(
        m.cooperation, m.regime, P.joint_ops_per_month, P.joint_ops_ceiling))
    m.out.update(cooperation=np.where(m.regime == cooperation.NONE, np.nan, m.cooperation),
                 regime=m.regime.astype(float), joint_operations=m.joint_ops, intel_sharing=m.sharing)


STAGE = Stage(
    name="relationship", odd="7.7", run=run, mechanisms="cooperation draws",
    does="the cooperation index moves toward both governments' readiness; regime with hysteresis; "
         "intelligence sharing, coordination centres, joint operations",
    params="cooperation_noise_sd cooperation_adjustment_rate cooperation_initial deterioration_threshold "
           "partnership_threshold regime_hysteresis intel_sharing_quality channel_floor "
           "coordination_centre_interdiction coordination_centres joint_ops_per_month joint_ops_ceiling",
    draws=(Draw("cooperation", 1, revision=1), Draw("joint_ops", 1, revision=1)),
    reads="regime cooperation", uses="openness willingness new_government",
    writes="cooperation regime sharing coordination joint_ops",
    outputs="cooperation regime joint_operations intel_sharing",
)
