"""Policy levers versus uncertainties, and designs that cross an ensemble of futures with a set
of named policies.

A *lever* is a choice an actor the user may advise controls (Iraqi counter-terrorism effort,
repatriation pace, ...); an *uncertainty* is everything else. The registry states the role of a
parameter in its ``role`` field; while an entry has none, :data:`DEFAULT_LEVERS` decides.

A config declares the policies under ``[sweep.policies.NAME]`` (lever = value tables) next to an
ordinary sweep over uncertainties. :func:`cross_policies` turns the sweep's points into
``len(policies) x len(points)`` design points, policy-major: point ``k * n + j`` is policy ``k``
in future ``j``, so every policy meets the same futures with the same seeds (common random
numbers), and regret per future is well defined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from borderscen.errors import ConfigError, unknown_name
from borderscen.inputs.params import registry

Role = Literal["lever", "uncertainty"]

#: Levers while the registry has no ``role`` field: Iraqi CT effort, repatriation pace, joint
#: coordination centres, intelligence sharing, and the coalition timetable.
DEFAULT_LEVERS: tuple[str, ...] = (
    "iraq_ct_ops_per_month",
    "repatriation_per_month",
    "coordination_centres",
    "channel_floor",
    "joint_ops_ceiling",
    "intel_sharing_quality",
    "us_troops_iraq",
    "us_troops_syria",
)

#: Column naming the policy of each run in run-level tables.
POLICY = "policy"


def role(name: str) -> Role:
    """'lever' or 'uncertainty': the registry's ``role`` if it has one, else the default list."""
    spec = registry()[name]
    declared = getattr(spec, "role", None)
    if declared in ("lever", "uncertainty"):
        return declared
    return "lever" if name in DEFAULT_LEVERS else "uncertainty"


def roles() -> dict[str, Role]:
    return {name: role(name) for name in registry()}


def levers() -> list[str]:
    return [n for n, r in roles().items() if r == "lever"]


def uncertainties() -> list[str]:
    return [n for n, r in roles().items() if r == "uncertainty"]


def cross_policies(points: Sequence[dict[str, float]],
                   policies: Mapping[str, Mapping[str, float]]) -> list[dict[str, float]]:
    """Every policy at every point (policy-major order). Lever values win over point values."""
    return [{**point, **{k: float(v) for k, v in lever_values.items()}}
            for lever_values in policies.values() for point in points]


def policy_of_points(n_points: int, policies: Sequence[str]) -> list[str]:
    """The policy name of each design point of a design made by :func:`cross_policies`."""
    if not policies:
        return []
    per = n_points // len(policies)
    return [policies[p // per] for p in range(n_points)]


def future_of_points(n_points: int, policies: Sequence[str]) -> list[int]:
    """The future (index of the sweep point before crossing) of each design point."""
    if not policies:
        return list(range(n_points))
    per = n_points // len(policies)
    return [p % per for p in range(n_points)]


def check_policies(sweep: Any, where: str) -> list[ConfigError]:
    """Problems with ``[sweep.policies]``: unknown or out-of-range levers, a lever that is also
    swept, two policies with the same lever values."""
    policies = getattr(sweep, "policies", None) or {}
    errors: list[ConfigError] = []
    reg = registry()
    seen: dict[tuple, str] = {}
    for name, values in policies.items():
        for lever, value in values.items():
            key = f"sweep.policies.{name}.{lever}"
            if lever not in reg:
                errors.append(unknown_name(where, key, lever, reg, "parameter"))
                continue
            if lever in sweep.parameters:
                errors.append(ConfigError(where, key, value,
                                          "a policy cannot set a parameter the sweep varies"))
                continue
            try:
                reg[lever].coerce(value, where, key)
            except ConfigError as exc:
                errors.append(exc)
        signature = tuple(sorted((k, float(v)) for k, v in values.items()))
        if signature in seen:
            errors.append(ConfigError(where, f"sweep.policies.{name}", dict(values),
                                      f"same lever values as policy {seen[signature]!r}"))
        seen.setdefault(signature, name)
    return errors
