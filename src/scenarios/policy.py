"""Triggered responses: what the plan does when its thresholds are crossed, fed into the next days.

Timing
------
The indicators of day ``t`` are known at the end of day ``t``. A policy whose trigger holds then is
*triggered* on ``t`` and *in force* from day ``t + delay_days`` (``delay_days >= 1``): contact multipliers
and booster doses act on the engine from that day, and a surge step is activated on that day (capacity then
adds the step's own lead time before its beds are in service). A response with ``duration_days`` ends after
that many days in force; one with ``deescalate_after_days = N`` is *lifted* when its trigger has not held on
``N`` days in a row while it is in force (the decision on day ``t``, no longer in force from ``t + 1``).
A policy fires once, unless ``repeat = true`` (then again whenever its trigger holds after it ended).

Record
------
Every event is kept: :attr:`PolicyEngine.events` (a list of :class:`PolicyEvent`) and, for the results
Dataset, two arrays along ``(time, policy)``: ``policy_in_force`` (1 while in force) and ``policy_event``,
a sum of CF flag masks (:data:`EVENT_FLAGS`: 1 triggered, 2 in force from this day, 4 lift decided,
8 no longer in force from this day). :func:`actions` turns a results Dataset back into a table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from .capacity import HealthSystem
from .config import Config, ConfigError
from .config.base import N_AGE, SETTINGS
from .config.surge import Policy

__all__ = ["EVENT_FLAGS", "PolicyEngine", "PolicyEvent", "actions", "build_policy_engine"]

#: CF ``flag_masks`` of the ``policy_event`` variable.
EVENT_FLAGS: dict[str, int] = {"triggered": 1, "in_force": 2, "lift_decided": 4, "ended": 8}


@dataclass(frozen=True)
class PolicyEvent:
    """One thing that happened to a policy.

    Attributes
    ----------
    day : int
        Day of the event (days since the start).
    policy : str
        Policy name.
    action : str
        ``contacts``, ``surge`` or ``vaccination``.
    event : str
        A key of :data:`EVENT_FLAGS`.
    reason : str
        Why: the trigger and its state, or the end of the duration.
    """

    day: int
    policy: str
    action: str
    event: str
    reason: str


@dataclass
class _Episode:
    triggered: int
    start: int
    end: int | None  # first day no longer in force
    quiet_days: int = 0


@dataclass
class _State:
    policy: Policy
    episodes: list[_Episode] = field(default_factory=list)
    # Read from the policy once (asked every day): the trigger's level, or None.
    level: int | None = field(init=False)
    # In force on each day of the run (1) or not, kept with the episodes: asked several times a day (and
    # member by member in a batch), a lookup instead of a walk over the episodes.
    on: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.level = self.policy.trigger_level

    def mark(self, start: int, end: int | None, value: int) -> None:
        """Set days ``start`` to ``end`` (excluded; None: the end of the run) in force (1) or not (0)."""
        stop = len(self.on) if end is None else min(end, len(self.on))
        if stop > start:
            self.on[start:stop] = bytes([value]) * (stop - start)


class PolicyEngine:
    """Decide triggered responses day by day and give each day's contact multipliers and booster doses.

    Parameters
    ----------
    policies : sequence of Policy
        The ``[[policies]]`` of the config (triggers already checked against the threshold set).
    n_days : int
        Days in the run.
    activate : callable ``(step_name, day) -> bool``, optional
        Opens a surge step on a day (:meth:`scenarios.capacity.HealthSystem.activate`); needed when a policy
        has action ``surge``.
    surge_steps : sequence of str, optional
        Names of the configured surge steps, to check ``step`` names early.

    Examples
    --------
    >>> from scenarios.config.surge import Policy
    >>> p = Policy(name="5K", action="contacts", community=0.5, delay_days=2)
    >>> eng = PolicyEngine([p], n_days=10)
    >>> eng.update(3, {"activation": True})
    [PolicyEvent(day=3, policy='5K', action='contacts', event='triggered', reason='activation met on day 3')]
    >>> eng.contact_multipliers(4)["community"], eng.contact_multipliers(5)["community"]
    (1.0, 0.5)
    """

    def __init__(
        self,
        policies: Sequence[Policy],
        n_days: int,
        activate: Callable[[str, int], bool] | None = None,
        surge_steps: Sequence[str] | None = None,
        infectious: tuple[float, int] = (1.0, 1),
    ):
        self.n_days = n_days
        self._infectious = infectious  # mean infectious days and Erlang stages, for isolation
        self._states = [_State(p, on=bytearray(n_days)) for p in policies]
        # Contact multipliers of each ``contacts`` policy, isolation included (fixed for the run).
        self._multipliers = {
            i: p.multipliers_with_isolation(*infectious) for i, p in enumerate(policies) if p.action == "contacts"
        }
        self._activate = activate
        for i, p in enumerate(policies):
            if p.action != "surge":
                continue
            if activate is None:
                raise ValueError(f"policies.{i} ({p.name!r}): action 'surge' needs a health system with surge steps")
            if surge_steps is not None and p.step not in surge_steps:
                raise ValueError(
                    f"policies.{i}.step: unknown surge step {p.step!r}; configured: "
                    + (", ".join(surge_steps) or "none (add [[capacity.surge]] steps)")
                )
        self.events: list[PolicyEvent] = []
        self.in_force = np.zeros((n_days, len(policies)), dtype=np.int8)
        self.event_flags = np.zeros((n_days, len(policies)), dtype=np.int8)

    @property
    def names(self) -> list[str]:
        """Policy names, the ``policy`` coordinate."""
        return [s.policy.name for s in self._states]

    @property
    def coords(self) -> dict[str, list[str]]:
        """Labels of the ``policy`` dimension (empty without policies)."""
        return {"policy": self.names} if self._states else {}

    def record(self, day: int) -> dict[str, np.ndarray]:
        """Day ``day``'s ``policy_in_force`` and ``policy_event`` (call after :meth:`update` of that day)."""
        if not self._states:
            return {}
        return {
            "policy_in_force": self.in_force[day].astype(float),
            "policy_event": self.event_flags[day].astype(float),
        }

    def static(self) -> dict[str, xr.DataArray]:
        """Per-policy metadata for the results: action, trigger, delay."""
        if not self._states:
            return {}
        ps = [s.policy for s in self._states]
        return {
            "policy_action": xr.DataArray([p.action for p in ps], dims="policy"),
            "policy_trigger": xr.DataArray([p.trigger for p in ps], dims="policy"),
            "policy_delay_days": xr.DataArray([p.delay_days for p in ps], dims="policy", attrs={"units": "days"}),
        }

    def _active(self, state: _State, day: int) -> bool:
        if 0 <= day < len(state.on):
            return bool(state.on[day])
        return any(ep.start <= day and (ep.end is None or day < ep.end) for ep in state.episodes)

    def contact_multipliers(self, day: int) -> dict[str, float]:
        """Product of the multipliers of the ``contacts`` policies in force on ``day``, by setting."""
        out = dict.fromkeys(SETTINGS, 1.0)
        for i, m in self._multipliers.items():
            if self._active(self._states[i], day):
                for k, v in m.items():
                    out[k] *= v
        return out

    def isolation(self, day: int) -> tuple:
        """Case-isolation regimes of the ``contacts`` policies in force on ``day``."""
        return tuple(
            s.policy.isolation
            for s in self._states
            if s.policy.action == "contacts" and s.policy.isolation is not None and self._active(s, day)
        )

    def booster_doses(self, day: int) -> np.ndarray:
        """Booster doses to give on ``day`` by age band (sum of the campaigns in force)."""
        out = np.zeros(N_AGE)
        for s in self._states:
            if s.policy.action == "vaccination" and self._active(s, day):
                out += np.asarray(s.policy.doses_per_day_by_age, dtype=float)
        return out

    def _emit(self, day: int, index: int, event: str, reason: str) -> PolicyEvent | None:
        if day >= self.n_days:  # beyond the horizon: not part of this run's record
            return None
        p = self._states[index].policy
        ev = PolicyEvent(day, p.name, p.action, event, reason)
        self.events.append(ev)
        self.event_flags[day, index] |= EVENT_FLAGS[event]
        return ev

    def update(self, day: int, states: Mapping[str, bool], level: int | None = None) -> list[PolicyEvent]:
        """Take day ``day``'s decisions from its trigger states; return the events decided today.

        Parameters
        ----------
        day : int
            The day just simulated.
        states : mapping of str to bool
            ``"activation"`` and each criterion name -> whether it is met on ``day``.
        level : int, optional
            Epidemic level on ``day`` (for ``level N`` triggers).
        """
        decided: list[PolicyEvent] = []
        for i, s in enumerate(self._states):
            p = s.policy
            if s.level is not None:
                holds = level is not None and level >= s.level
            else:
                if p.trigger not in states:
                    raise KeyError(f"policy {p.name!r}: no state for trigger {p.trigger!r}; have {', '.join(states)}")
                holds = bool(states[p.trigger])
            if self._active(s, day):
                self.in_force[day, i] = 1
            ep = s.episodes[-1] if s.episodes else None
            open_ = ep is not None and (ep.end is None or ep.end > day + 1)
            if open_:
                if p.deescalate_after_days is not None and ep.start <= day:
                    ep.quiet_days = 0 if holds else ep.quiet_days + 1
                    if ep.quiet_days >= p.deescalate_after_days:
                        s.mark(day + 1, ep.end, 0)
                        ep.end = day + 1
                        decided.append(
                            self._emit(
                                day,
                                i,
                                "lift_decided",
                                f"{p.trigger} not met for {ep.quiet_days} days in a row",
                            )
                        )
                        self._emit(day + 1, i, "ended", "lifted (de-escalation)")
                continue
            if holds and (ep is None or p.repeat):
                start = day + p.delay_days
                end = start + p.duration_days if p.duration_days is not None else None
                s.episodes.append(_Episode(day, start, end))
                s.mark(start, end, 1)
                what = f"level {level} (>= {s.level})" if s.level is not None else f"{p.trigger} met"
                decided.append(self._emit(day, i, "triggered", f"{what} on day {day}"))
                self._emit(start, i, "in_force", f"triggered on day {day}, delay {p.delay_days} days")
                if end is not None:
                    self._emit(end, i, "ended", f"duration {p.duration_days} days")
                if p.action == "surge":
                    assert self._activate is not None
                    self._activate(p.step, start)
        return decided


def build_policy_engine(config: Config, n_days: int, health: HealthSystem | None = None) -> PolicyEngine:
    """Build the policy engine of a run; ``health`` opens surge steps (``care.capacity``).

    Raises
    ------
    ConfigError
        A ``surge`` policy naming an unknown step, or with no health system to open it in.
    """
    try:
        return PolicyEngine(
            config.policies,
            n_days,
            activate=health.activate if health is not None else None,
            infectious=(config.disease.infectious_days, config.disease.infectious_stages),
            surge_steps=health.surge_steps if health is not None else None,
        )
    except ValueError as e:
        raise ConfigError([f"{config.provenance.get('config_path') or 'config'}: {e}"]) from None


def actions(ds: xr.Dataset) -> pd.DataFrame:
    """List the fired actions of a run as a table, from ``policy_event`` in the results.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, day, policy, action, trigger, event``, one row per event, by date (plus the
        Dataset's extra dims, e.g. ``replicate``). Empty (same columns) when nothing fired.
    """
    cols = ["date", "day", "policy", "action", "trigger", "event"]
    if "policy_event" not in ds or ds.sizes.get("policy", 0) == 0:
        return pd.DataFrame(columns=cols)
    flags = ds["policy_event"].reset_coords(drop=True).fillna(0).astype(int)
    frame = flags.to_dataframe(name="flags").reset_index()
    frame = frame[frame["flags"] > 0]
    rows = []
    for _, r in frame.iterrows():
        for name, mask in EVENT_FLAGS.items():
            if r["flags"] & mask:
                rows.append(
                    {
                        **{k: r[k] for k in r.index if k not in ("flags", "time")},
                        "date": r["time"],
                        "event": name,
                    }
                )
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=cols)
    meta = {c: ds[c].to_series() for c in ("policy_action", "policy_trigger") if c in ds.variables}
    out["action"] = out["policy"].map(meta["policy_action"]) if "policy_action" in meta else ""
    out["trigger"] = out["policy"].map(meta["policy_trigger"]) if "policy_trigger" in meta else ""
    if "day" not in out:
        out["day"] = (out["date"] - pd.Timestamp(ds["time"].values[0])).dt.days
    extra = [c for c in out.columns if c not in cols and c not in ("policy_action", "policy_trigger")]
    order = {name: i for i, name in enumerate(EVENT_FLAGS)}
    out = out.assign(_o=out["event"].map(order)).sort_values([*extra, "date", "_o"]).drop(columns="_o")
    return out[[*extra, *cols]].reset_index(drop=True)
