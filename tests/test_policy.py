"""Triggered responses: timing, delays, durations, de-escalation, repeat, surge, record."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scenarios.config.surge import Policy
from scenarios.policy import EVENT_FLAGS, PolicyEngine, actions


def _run(engine: PolicyEngine, trigger: list[bool], key: str = "activation"):
    contacts, doses = [], []
    for day, holds in enumerate(trigger):
        contacts.append(engine.contact_multipliers(day)["community"])
        doses.append(engine.booster_doses(day).sum())
        engine.update(day, {key: holds})
    return np.array(contacts), np.array(doses)


def test_contacts_in_force_from_trigger_day_plus_delay_until_the_end():
    p = Policy(name="5K", action="contacts", community=0.5, work=0.8, delay_days=3)
    eng = PolicyEngine([p], 12)
    trigger = [False] * 4 + [True] * 8  # first met on day 4
    contacts, _ = _run(eng, trigger)
    assert contacts.tolist() == [1.0] * 7 + [0.5] * 5  # in force from day 4 + 3 = 7
    assert eng.in_force[:, 0].tolist() == [0] * 7 + [1] * 5
    assert eng.event_flags[4, 0] == EVENT_FLAGS["triggered"]
    assert eng.event_flags[7, 0] == EVENT_FLAGS["in_force"]
    assert [e.event for e in eng.events] == ["triggered", "in_force"]


def test_deescalation_after_n_quiet_days_and_no_refire_without_repeat():
    p = Policy(name="5K", action="contacts", community=0.5, deescalate_after_days=3)
    eng = PolicyEngine([p], 16)
    trigger = [
        True,
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    contacts, _ = _run(eng, trigger)
    # triggered day 0, in force day 1; quiet days 4,5,6 -> lift decided on day 6, off from day 7; fires once.
    assert contacts.tolist() == [1.0] + [0.5] * 6 + [1.0] * 9
    assert [(e.day, e.event) for e in eng.events] == [
        (0, "triggered"),
        (1, "in_force"),
        (6, "lift_decided"),
        (7, "ended"),
    ]


def test_repeat_fires_again_after_lifting():
    p = Policy(name="5K", action="contacts", community=0.5, deescalate_after_days=2, repeat=True)
    eng = PolicyEngine([p], 12)
    trigger = [True, False, False, False, True, True, False, False, False, False, False, False]
    contacts, _ = _run(eng, trigger)
    # day 1 quiet=1 (in force since day 1), day 2 quiet=2 -> lifted from day 3; refires day 4 -> from day 5.
    assert contacts.tolist() == [1.0, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert sum(e.event == "triggered" for e in eng.events) == 2


def test_vaccination_campaign_doses_for_its_duration():
    doses = (0, 0, 0, 0, 0, 100, 200, 300, 50)
    p = Policy(name="booster", action="vaccination", doses_per_day_by_age=doses, duration_days=4, delay_days=2)
    eng = PolicyEngine([p], 12)
    _, given = _run(eng, [False, True] + [True] * 10)
    assert given.tolist() == [0, 0, 0] + [650.0] * 4 + [0] * 5  # triggered day 1, days 3..6
    np.testing.assert_array_equal(eng.booster_doses(4), doses)
    assert [(e.day, e.event) for e in eng.events] == [(1, "triggered"), (3, "in_force"), (7, "ended")]


def test_surge_activates_the_capacity_step_on_the_effective_day():
    calls = []
    p = Policy(name="field hospital", action="surge", step="field", delay_days=2, trigger="oxygen")
    eng = PolicyEngine([p], 10, activate=lambda step, day: calls.append((step, day)) or True, surge_steps=["field"])
    _run(eng, [False] * 5 + [True] * 5, key="oxygen")
    assert calls == [("field", 7)]


def test_unknown_surge_step_is_named():
    p = Policy(name="f", action="surge", step="fieldd")
    with pytest.raises(ValueError, match="unknown surge step 'fieldd'; configured: field"):
        PolicyEngine([p], 5, activate=lambda s, d: True, surge_steps=["field"])


def test_level_trigger_and_multiplying_policies():
    a = Policy(name="a", action="contacts", community=0.5, trigger="level 3")
    b = Policy(name="b", action="contacts", community=0.4, trigger="activation")
    eng = PolicyEngine([a, b], 5)
    eng.update(0, {"activation": True}, level=2)
    assert eng.contact_multipliers(1)["community"] == 0.4
    eng.update(1, {"activation": True}, level=3)
    assert eng.contact_multipliers(2)["community"] == pytest.approx(0.2)


def test_no_trigger_no_events_and_empty_actions_table():
    eng = PolicyEngine([Policy(name="5K", action="contacts", community=0.5)], 5)
    contacts, _ = _run(eng, [False] * 5)
    assert (contacts == 1).all() and eng.events == [] and not eng.event_flags.any()
    ds = xr.Dataset(
        {"policy_event": (("time", "policy"), eng.event_flags.astype(float))},
        coords={"time": np.arange("2026-01-01", "2026-01-06", dtype="datetime64[D]"), "policy": eng.names},
    )
    table = actions(ds)
    assert table.empty and list(table.columns) == ["date", "day", "policy", "action", "trigger", "event"]


def test_actions_table_from_results_flags():
    p = Policy(name="5K", action="contacts", community=0.5, delay_days=2, deescalate_after_days=2)
    eng = PolicyEngine([p], 10)
    _run(eng, [False, True, True, False, False, False, False, False, False, False])
    time = np.arange("2026-01-01", "2026-01-11", dtype="datetime64[D]").astype("datetime64[ns]")
    ds = xr.Dataset(
        {"policy_event": (("time", "policy"), eng.event_flags.astype(float))},
        coords={
            "time": time,
            "day": ("time", np.arange(10)),
            "policy": eng.names,
            "policy_action": ("policy", ["contacts"]),
            "policy_trigger": ("policy", ["activation"]),
        },
    )
    table = actions(ds)
    assert table[["day", "event"]].values.tolist() == [
        [1, "triggered"],
        [3, "in_force"],
        [4, "lift_decided"],
        [5, "ended"],
    ]
    assert (table["action"] == "contacts").all() and str(table.loc[0, "date"].date()) == "2026-01-02"
