"""ODD 7.10 Observation channels: what each kind of count sees of the true attacks.

  tracked_c  ~ Binomial(attacks_c, p_track)      independent media-based trackers
  claimed_c  ~ Binomial(attacks_c, p_claim)      ISIS-claimed attacks (as CENTCOM counts them)
  official   ~ Binomial(attacks_iraq, p_official) the Iraqi government's own count

Every calibration target and hold-out is compared through its own channel, never to true
attacks. The tracker's detection probability is not identified by counts alone (true attacks
are never observed); it is fixed and marked as an assumption.
"""
