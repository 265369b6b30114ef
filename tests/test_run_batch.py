"""run_batch: K draws advanced together equal K separate runs, day by day, on every output variable."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import xarray as xr

import scenarios
from scenarios.config import ConfigError
from scenarios.draws import member_configs
from scenarios.simulate import run, run_batch

from .conftest import CONFIGS
from .test_seir_solvers import TOLERANCE, max_relative_difference


def _reference(cfg, draws, dim="draw"):
    runs = [run(c) for c in member_configs(cfg, draws)]
    return xr.concat(runs, dim, data_vars="all", coords="minimal", compat="equals", join="exact")


def _check_equal(batch: xr.Dataset, ref: xr.Dataset) -> float:
    assert set(batch.data_vars) == set(ref.data_vars)
    assert set(batch.coords) == set(ref.coords)
    for name in ref.data_vars:
        assert batch[name].dims == ref[name].dims, name
    worst = max_relative_difference(ref, batch)
    assert max(worst.values()) <= TOLERANCE, {k: v for k, v in worst.items() if v > TOLERANCE}
    return max(worst.values())


def test_batch_equals_loop_of_runs_with_policies_and_care() -> None:
    cfg = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml", overrides={"scenario.horizon_days": 120})
    k = 4
    draws = {
        "variants.new.immune_escape": np.linspace(0.3, 0.8, k),
        "variants.resident.rt_start": np.linspace(0.9, 1.1, k),
        "policies.3.work": np.linspace(0.5, 1.0, k),  # a triggered response's strength
        "reporting.ascertainment": np.linspace(0.1, 0.4, k),
        "reporting.delay_mean_days": np.linspace(1.0, 4.0, k),
        "disease.p_severe_by_age": np.outer(np.linspace(0.8, 1.2, k), cfg.disease.p_severe_by_age),
        "capacity.beds_icu": np.linspace(100, 400, k),
        "capacity.surge.0.lead_time_days": [3, 7, 10, 14],
        "care.los_oxygen_survive.mean_days": np.linspace(6, 10, k),
        "care.overflow": ["lost", "queue", "lost", "queue"],
    }
    batch = run_batch(cfg, draws)
    ref = _reference(cfg, draws)
    worst = _check_equal(batch, ref)
    assert worst < 1e-12  # the same arithmetic member by member
    assert batch.sizes["draw"] == k
    # The draws differ in what matters: activation dates and care use differ between members.
    assert len(np.unique(batch.plan_activated.argmax("time"))) > 1
    assert len(np.unique(batch.census_icu.sum(["time", "age_group"]))) == k
    assert "batch_draws" in batch.attrs


def test_batch_with_interventions_and_chunks(monkeypatch) -> None:
    import scenarios.simulate as simulate

    monkeypatch.setattr(simulate, "CHUNK", 2)  # members split over chunks give the same stacked result
    cfg = scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml", overrides={"scenario.horizon_days": 90})
    draws = {"interventions.0.community": [0.4, 0.7, 1.0], "variants.resident.initial_infections": [100, 500, 2000]}
    _check_equal(run_batch(cfg, draws, dim="sample"), _reference(cfg, draws, "sample"))


def test_batch_of_one_equals_run() -> None:
    cfg = scenarios.load_config(CONFIGS / "homogeneous_r0_2.5.toml")
    batch = run_batch(cfg, {"variants.resident.r0": [2.5]})
    _check_equal(batch.isel(draw=0, drop=True), run(cfg))


@pytest.mark.parametrize(
    ("key", "values", "words"),
    [
        ("scenario.horizon_days", [30, 60], "time axis"),
        ("population.total", [1e5, 2e5], "population"),
        ("disease.latent_stages", [2, 3], "state layout"),
        ("interventions.0.start_date", ["2027-01-01", "2027-02-01"], "dates"),
        ("thresholds", ["provincial_3984", "provincial_3984"], "threshold set"),
    ],
)
def test_keys_that_cannot_vary_name_the_key(key, values, words) -> None:
    cfg = scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml")
    with pytest.raises(ValueError, match=rf"draws\['{key}'\].*{words}"):
        run_batch(cfg, {key: values})


def test_invalid_draw_names_key_and_index() -> None:
    cfg = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml")
    with pytest.raises(ConfigError, match=r"draw 2, variants.new.immune_escape.*less than or equal to 1"):
        run_batch(cfg, {"variants.new.immune_escape": [0.2, 0.5, 1.5]})
    with pytest.raises(ConfigError, match=r"draw 0, policies.9.work.*no item '9'"):
        run_batch(cfg, {"policies.9.work": [0.5]})
    with pytest.raises(ValueError, match="same number of values"):
        run_batch(cfg, {"reporting.ascertainment": [0.1, 0.2], "variants.new.immune_escape": [0.5]})


def test_sweep_batches_seir_replicates_as_the_loop_does() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cfg = scenarios.load_config(CONFIGS / "phong_tho_new_variant.toml", overrides={"scenario.horizon_days": 60})
    kwargs = {
        "scenarios": {"base": {}, "escape 0.8": {"variants.new.immune_escape": 0.8}},
        "vary": {"variants.new.transmissibility_multiplier": (1.2, 2.0), "reporting.ascertainment": [0.2, 0.4]},
        "replicates": 3,
        "seed": 4,
    }
    batched = scenarios.sweep(cfg, **kwargs)  # in-process seir sweep: one run_batch per scenario
    with ThreadPoolExecutor(1) as pool:
        looped = scenarios.sweep(cfg, executor=pool, **kwargs)  # one run() per cell
    worst = max_relative_difference(looped, batched)
    assert max(worst.values()) <= TOLERANCE, worst
    assert batched.new_infections.dims == looped.new_infections.dims
    assert set(batched.attrs) == set(looped.attrs)


def test_transmission_outputs_equal_the_full_run_and_refuse_policies() -> None:
    from scenarios.simulate import TRANSMISSION_VARIABLES

    cfg = scenarios.load_config(
        CONFIGS / "ha_noi_new_variant.toml", overrides={"scenario.horizon_days": 60, "policies": []}
    )
    draws = {"interventions.0.community": [0.4, 1.0], "reporting.ascertainment": [0.1, 0.3]}
    full = run_batch(cfg, draws)
    cheap = run_batch(cfg, draws, outputs="transmission")
    assert set(cheap.data_vars) == {*TRANSMISSION_VARIABLES, "population", "beta"}
    for name in cheap.data_vars:
        np.testing.assert_array_equal(cheap[name].values, full[name].values, err_msg=name)
    assert float(cheap.new_reported_cases.sum()) > 0
    with_policies = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml")
    assert with_policies.policies
    with pytest.raises(ValueError, match="without triggered policies"):
        run_batch(with_policies, {"reporting.ascertainment": [0.1]}, outputs="transmission")


def test_member_configs_equal_apply_overrides_key_by_key() -> None:
    """Many keys through one list, and a whole section set before one of its fields, as apply_overrides."""
    from scenarios.config import apply_overrides

    cfg = scenarios.load_config(CONFIGS / "ho_chi_minh_2021_delta.toml")
    knots = {"interventions": [{"name": f"k{d}", "start_date": f"2021-06-{d:02d}"} for d in (8, 15, 22)]}
    cfg = apply_overrides(cfg, knots)
    k = 3
    draws = {f"interventions.{j}.{s}": np.linspace(0.5, 1.0, k) + j / 10 for j in range(3) for s in ("work", "home")}
    draws["reporting"] = [{"ascertainment": a} for a in (0.1, 0.2, 0.3)]
    draws["reporting.delay_mean_days"] = [2.0, 3.0, 4.0]
    members = member_configs(cfg, draws)
    for i, member in enumerate(members):
        one = {key: np.asarray(v, dtype=object)[i] for key, v in draws.items()}
        expected = cfg
        for key, value in one.items():  # in order: the whole section first, then its field
            expected = apply_overrides(expected, {key: value.item() if hasattr(value, "item") else value})
        assert member == expected, i
        plain = {key: v.tolist() if hasattr(v, "tolist") else v for key, v in one.items()}
        earlier = json.loads(cfg.provenance["overrides"])
        assert member.provenance["overrides"] == json.dumps({**earlier, **plain}, default=str, ensure_ascii=False)
    assert members[2].reporting.ascertainment == 0.3 and members[2].reporting.delay_mean_days == 4.0
    assert members[0].interventions[2].home == 0.7


def test_scheduled_multipliers_follow_active_dates() -> None:
    """The batch's schedule of dated interventions is Intervention.active day by day (edges included)."""
    from scenarios.config import apply_overrides
    from scenarios.simulate import _scheduled_multipliers

    cfg = scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml", overrides={"scenario.horizon_days": 30})
    start = cfg.scenario.start_date
    day = lambda d: (start + dt.timedelta(days=d)).isoformat()  # noqa: E731
    ivs = [
        {"name": "before", "start_date": day(-20), "end_date": day(-5), "work": 0.1},
        {"name": "inside", "start_date": day(3), "end_date": day(7), "home": 0.5},
        {"name": "open", "start_date": day(10), "work": 0.8},
        {"name": "after", "start_date": day(40), "school": 0.2},
        {"name": "across", "start_date": day(-3), "end_date": day(12), "community": 0.7},
    ]
    cfg = apply_overrides(cfg, {"interventions": ivs})
    got = _scheduled_multipliers(cfg, member_configs(cfg, {"reporting.ascertainment": [0.2, 0.3]}), 30)
    for d in range(30):
        want = contact_multipliers_without_isolation(cfg, start + dt.timedelta(days=d))
        np.testing.assert_array_equal(got[d], [want, want], err_msg=f"day {d}")


def contact_multipliers_without_isolation(cfg, date) -> list[float]:
    out = dict.fromkeys(scenarios.config.SETTINGS, 1.0)
    for iv in cfg.interventions:
        if iv.active(date):
            for s in out:
                out[s] *= iv.contact_multipliers[s]
    return list(out.values())
