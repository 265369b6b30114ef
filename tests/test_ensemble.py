"""Sweeps: replicates, common random numbers, sampled parameters, executors, crossing summaries."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import scenarios
from scenarios.config import ConfigError, load_config
from scenarios.ensemble import summarise_crossings, sweep
from scenarios.results import cf_encode, read_netcdf, write_netcdf

from .conftest import CONFIGS

PHONG_THO = CONFIGS / "phong_tho_new_variant.toml"
SHORT = {"scenario.horizon_days": 60}


def _cfg(**extra):
    return load_config(PHONG_THO, {**SHORT, **extra})


def _without_created(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


def _one(ds: xr.Dataset, scenario: str, replicate: int) -> xr.Dataset:
    """One run out of a sweep, without the sweep's own coordinates and variables."""
    one = ds.sel(scenario=scenario, replicate=replicate)
    one = one.drop_vars([v for v in one.variables if v.startswith(("sampled_", "scenario", "replicate"))])
    one.attrs = {}
    return one


def test_same_seed_same_sweep_other_seed_differs():
    a = sweep(_cfg(), engine="abm", replicates=2, seed=11)
    b = sweep(_cfg(), engine="abm", replicates=2, seed=11)
    c = sweep(_cfg(), engine="abm", replicates=2, seed=12)
    xr.testing.assert_identical(_without_created(a), _without_created(b))
    assert a.new_infections.dims[:4] == ("scenario", "replicate", "time", "age_group")
    assert list(a.scenario.values) == ["base"] and list(a.replicate.values) == [0, 1]
    assert not np.array_equal(a.new_infections.values, c.new_infections.values)
    # replicates are different draws, and replicate k is the plain run with child seed k of the root
    assert not np.array_equal(a.new_infections[0, 0].values, a.new_infections[0, 1].values)
    child = np.random.SeedSequence(11).spawn(2)[1]
    plain = scenarios.run(_cfg(), engine="abm", seed=child)
    np.testing.assert_array_equal(a.new_infections.sel(scenario="base", replicate=1), plain.new_infections)
    assert a.attrs["seed"] == str(np.random.SeedSequence(11).entropy) and a.attrs["engine"] == "abm"


def test_common_random_numbers_across_scenarios():
    # The cylinder size only converts oxygen demand into cylinders: no random draw depends on it.
    ds = sweep(
        _cfg(),
        engine="abm",
        replicates=2,
        seed=4,
        scenarios={"40 L": {}, "50 L": {"oxygen.cylinder_water_litres": 50.0}},
    )
    for k in range(2):
        np.testing.assert_array_equal(
            ds.new_infections.sel(scenario="40 L", replicate=k),
            ds.new_infections.sel(scenario="50 L", replicate=k),
        )
    assert ds.new_infections.sum() > 0
    cyl = ds.oxygen_demand_cylinders_per_day.sum("time")
    peak = ds.oxygen_demand_m3_per_day.max()
    assert peak == 0 or bool((cyl.sel(scenario="50 L") < cyl.sel(scenario="40 L")).any())
    assert json.loads(ds.scenario_overrides.sel(scenario="50 L").item()) == {"oxygen.cylinder_water_litres": 50.0}


def test_common_random_numbers_with_ascertainment():
    """Each stochastic part has its own stream, so reporting's draws do not shift transmission's."""
    ds = sweep(
        _cfg(policies=[]),
        engine="abm",
        replicates=1,
        seed=4,
        scenarios={"a": {"reporting.ascertainment": 0.3}, "b": {"reporting.ascertainment": 0.6}},
    )
    np.testing.assert_array_equal(ds.new_infections.sel(scenario="a"), ds.new_infections.sel(scenario="b"))


def test_vary_draws_in_range_recorded_and_equal_to_plain_runs():
    vary = {
        "variants.new.immune_escape": (0.3, 0.9),
        "variants.new.import_days": (7, 21),
        "reporting.ascertainment": [0.1, 0.5],
    }
    scen = {"as is": {}, "more severe": {"variants.new.severity_multiplier": 2.0}}
    ds = sweep(_cfg(), scenarios=scen, vary=vary, replicates=3, seed=2)
    escape = ds.sampled_variants_new_immune_escape
    days = ds.sampled_variants_new_import_days
    asc = ds.sampled_reporting_ascertainment
    assert escape.dims == ("replicate",) and escape.attrs["units"] == "1"
    assert escape.attrs["parameter"] == "variants.new.immune_escape" and escape.attrs["long_name"]
    assert bool(((escape >= 0.3) & (escape <= 0.9)).all()) and len(np.unique(escape)) == 3
    assert bool(((days >= 7) & (days <= 21)).all()) and np.array_equal(days, np.round(days))
    assert set(asc.values) <= {0.1, 0.5}
    sweep_spec = json.loads(ds.attrs["sweep"])
    assert sweep_spec["vary"]["reporting.ascertainment"] == {"kind": "choice", "values": [0.1, 0.5]}
    for k in range(3):
        drawn = {
            "variants.new.immune_escape": float(escape[k]),
            "variants.new.import_days": int(days[k]),
            "reporting.ascertainment": float(asc[k]),
        }
        for name, over in scen.items():  # the same draw in every scenario, exactly a plain run
            plain = scenarios.run(_cfg(**over, **drawn), engine="seir", seed=0)
            plain.attrs = {}
            xr.testing.assert_identical(_one(ds, name, k), plain)


def test_process_pool_gives_the_serial_dataset():
    kwargs = dict(
        engine="abm",
        replicates=2,
        seed=8,
        vary={"variants.new.immune_escape": (0.4, 0.8)},
        scenarios={"a": {}, "b": {"variants.new.transmissibility_multiplier": 1.2}},
    )
    serial = sweep(_cfg(), **kwargs)
    with ProcessPoolExecutor(2) as pool:
        parallel = sweep(_cfg(), executor=pool, **kwargs)
    xr.testing.assert_identical(_without_created(serial), _without_created(parallel))


def test_sweep_round_trips_through_netcdf(tmp_path):
    ds = sweep(
        _cfg(),
        scenarios={"cơ sở": {}, "thoát miễn dịch 0,8": {"variants.new.immune_escape": 0.8}},
        vary={"disease.infectious_days": (1.5, 3.0)},
        replicates=2,
    )
    back = read_netcdf(write_netcdf(ds, tmp_path / "sweep.nc"))
    # As written (CF units, file names without directories); read_netcdf checks the checksum and drops it.
    xr.testing.assert_identical(cf_encode(ds)[0], back)
    assert list(back.scenario.values) == ["cơ sở", "thoát miễn dịch 0,8"]
    assert back.attrs["config_path"].endswith("phong_tho_new_variant.toml")
    assert json.loads(back.attrs["overrides"]) == SHORT
    assert back.sampled_disease_infectious_days.attrs["units"] == "days"


def test_summarise_crossings_shares_and_quantiles():
    # Half-known answer: replicates that import nothing never cross, the others cross (SEIR, 90 days).
    cfg = load_config(PHONG_THO, {"scenario.horizon_days": 90})
    ds = sweep(
        cfg,
        replicates=8,
        seed=1,
        vary={"variants.new.imported_per_day": [0.0, 2.0]},
        scenarios={"open": {}, "closed": {"variants.new.introduction_date": "2027-06-01"}},
    )
    table = summarise_crossings(ds, quantiles=(0.05, 0.25, 0.5, 0.95))
    importing = ds.sampled_variants_new_imported_per_day.values > 0
    assert 0 < importing.sum() < 8  # both kinds of replicate are drawn with this seed
    per_run = scenarios.crossings(ds)  # the independent single-run reading, stacked
    cases = table[table["criterion"] == "cases"].set_index("scenario")
    assert cases.loc["closed", "share_crossed"] == 0 and pd.isna(cases.loc["closed", "first_day_q5"])
    assert cases.loc["open", "share_crossed"] == importing.mean()
    firsts = per_run[(per_run["scenario"] == "open") & (per_run["criterion"] == "cases")]["first_day"]
    assert firsts.notna().to_numpy().tolist() == importing.tolist()
    ordered = sorted(firsts.dropna())
    # q5 is the earliest crossing; q95 falls among the runs that never cross within the horizon
    assert cases.loc["open", "first_day_q5"] == ordered[0]
    assert pd.isna(cases.loc["open", "first_day_q95"]) and pd.isna(cases.loc["open", "first_date_q95"])
    qs = [cases.loc["open", f"first_day_q{p}"] for p in (5, 25, 50)]
    qs = [q for q in qs if not pd.isna(q)]
    assert qs == sorted(qs) and len(qs) >= 1
    assert cases.loc["open", "first_date_q5"] == pd.Timestamp(ds.time.values[ordered[0]])
    lead = [
        table.loc[i, c]
        for i in table.index[table["criterion"] == "activation"]
        for c in ("lead_days_q5", "lead_days_q50", "lead_days_q95")
        if not pd.isna(table.loc[i, c])
    ]
    assert lead == sorted(lead)
    assert set(table["kind"]) >= {"criterion", "activation", "overflow"}
    assert (table.groupby("scenario")["replicates"].unique().map(list) == [[8]] * 2).all()


def test_always_crossed_share_is_one():
    cfg = load_config(PHONG_THO, {"scenario.horizon_days": 90})
    ds = sweep(cfg, replicates=4, seed=3, vary={"variants.new.immune_escape": (0.5, 0.9)})
    row = summarise_crossings(ds).set_index("criterion").loc["cases"]
    assert row["share_crossed"] == 1
    assert row["first_day_q5"] <= row["first_day_q50"] <= row["first_day_q95"]
    assert row["first_date_q5"] <= row["first_date_q50"] <= row["first_date_q95"]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"scenarios": {"typo": {"variants.new.immune_escap": 0.5}}}, ["scenarios['typo']", "immune_escap"]),
        ({"scenarios": {"too high": {"variants.new.immune_escape": 1.5}}}, ["too high", "immune_escape"]),
        (
            {"vary": {"reporting.ascertainmnt": (0.1, 0.2)}},
            ["vary['reporting.ascertainmnt']", "ascertainmnt"],
        ),
        ({"vary": {"reporting.ascertainment": (0.5, 1.5)}}, ["reporting.ascertainment"]),
        ({"vary": {"reporting.ascertainment": (0.5,)}}, ["reporting.ascertainment", "(low, high)"]),
        (
            {
                "vary": {"reporting.ascertainment": (0.2, 0.3)},
                "scenarios": {"x": {"reporting.ascertainment": 0.5}},
            },
            ["scenarios['x']", "reporting.ascertainment"],
        ),
    ],
)
def test_bad_keys_raise_config_error_naming_them(kwargs, named):
    with pytest.raises(ConfigError) as err:
        sweep(_cfg(), **kwargs)
    for text in named:
        assert text in str(err.value)


def test_bad_replicates_and_engine():
    with pytest.raises(ValueError, match="replicates"):
        sweep(_cfg(), replicates=0)
    with pytest.raises(ValueError, match="engine"):
        sweep(_cfg(), engine="sir")


def test_scenarios_must_share_the_time_axis():
    with pytest.raises(ValueError):
        sweep(_cfg(), scenarios={"a": {}, "b": {"scenario.horizon_days": 30}})


def test_cli_run_with_replicates_writes_summary(tmp_path, capsys):
    from scenarios.cli import main

    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(PHONG_THO),
            "--out",
            str(out),
            "--set",
            "scenario.horizon_days=60",
            "--replicates",
            "2",
            "--vary",
            "variants.new.immune_escape=0.4:0.8",
            "--lang",
            "en",
        ]
    )
    assert code == 0 and "2 replicates" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["crossings.csv", "crossings_summary.csv", "results.nc"]
    ds = read_netcdf(out / "results.nc")
    assert ds.sizes["replicate"] == 2 and ds.new_infections.dims[:2] == ("scenario", "replicate")
    summary = pd.read_csv(out / "crossings_summary.csv")
    assert (summary["replicates"] == 2).all() and "first_date_q50" in summary.columns


@pytest.mark.parametrize(
    "argv",
    [
        ["--replicates", "0"],
        ["--replicates", "two"],
        ["--vary", "reporting.ascertainmnt=0.1:0.2"],
        ["--vary", "reporting.ascertainment=0.3:0.1"],
        ["--replicates", "2", "--report"],
    ],
)
def test_cli_bad_sweep_options_exit_2_and_write_nothing(tmp_path, capsys, argv):
    from scenarios.cli import main

    out = tmp_path / "run"
    try:
        code = main(["run", str(PHONG_THO), "--out", str(out), *argv])
    except SystemExit as e:  # argparse refuses the option itself
        code = e.code
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert any(word in err for word in ("--replicates", "--vary", "ascertainmnt", "--report"))
