"""Recovery on synthetic data: simulate with known parameters, add NB noise, fit, check the credible intervals."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from scenarios.calibration import fit, forecast, read_fit, summary, write_fit
from scenarios.calibration.forecast import crossing_probability, forecast_quantiles
from scenarios.calibration.likelihood import expected_series, needed_variables
from scenarios.calibration.model import Parameters, base_config, simulate_draws

from .conftest import homogeneous

START = dt.date(2026, 1, 1)


def _config(days: int, change: list[str], steps: int = 40, walkers: int = 12, knot_days: int = 0, **priors):
    return homogeneous(
        scenario={"horizon_days": days},
        variants={"resident": {"r0": None, "rt_start": 1.5, "initial_infections": 50}},
        calibration={
            "rt_change_dates": change,
            "rt_knot_days": knot_days,
            "priors": {"ascertainment": {"median": 0.3, "sd": 0.5}, **priors},
            "sampler": {"steps": steps, "burn": steps // 3, "walkers": walkers, "optimizer_evaluations": 600},
        },
    )


def synthetic(config, truth: dict[str, float], seed: int) -> pd.DataFrame:
    """Reported cases of the model at ``truth`` with negative-binomial noise, one missing day.

    The truth's Rt changes at the config's ``rt_change_dates``; a fit may use another Rt form.
    """
    end = config.scenario.end_date
    base = base_config(config, end)
    params = Parameters.of(config.calibration.model_copy(update={"rt_knot_days": 0}))
    values = np.array([[truth[n] for n in params.names]])
    ds = simulate_draws(base, params.draws(base, values), variables=needed_variables(["reported_cases"]))
    mu = expected_series(ds, ["reported_cases"], params, values, base)["reported_cases"][0]
    size = truth["dispersion_reported_cases"]
    y = np.random.default_rng(seed).negative_binomial(size, size / (size + mu)).astype(float)
    y[5] = np.nan
    return pd.DataFrame({"reported_cases": y}, index=pd.date_range(START, end, name="date"))


def _fit(config, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains in tests: convergence is not the point
        return fit(config, data)


def _inside(post, truth, names) -> dict[str, bool]:
    s = summary(post).set_index("parameter")
    return {n: bool(s.loc[n, "q05"] <= truth[n] <= s.loc[n, "q95"]) for n in names}


def _rt_inside(post, days: dict[int, float]) -> dict[int, bool]:
    from scenarios.calibration.figures import rt_over_time

    q = rt_over_time(post).quantile([0.05, 0.95], dim="draw").values
    return {d: bool(q[0, d] <= rt <= q[1, d]) for d, rt in days.items()}


@pytest.mark.slow  # a few thousand model runs: seconds with run_batch(outputs="transmission")
def test_recovers_stepped_rt_with_a_weekly_random_walk_and_forecasts():
    truth = {
        "rt_start": 2.0,
        "rt_change_1": 0.5,
        "initial_infections": 40.0,
        "ascertainment_1": 0.3,
        "dispersion_reported_cases": 30.0,
    }
    data = synthetic(_config(49, ["2026-01-22"]), truth, seed=3)  # Rt 2.0, then 1.0 from day 21
    post = _fit(_config(49, [], steps=120, knot_days=7), data)
    inside = _rt_inside(post, {3: 2.0, 35: 1.0})  # a random walk smooths the step itself over ~2 knots
    assert all(inside.values()), (inside, summary(post))
    assert post.attrs["model_runs"] > 0 and "converged" in post.attrs["convergence_note"].lower()
    # Forecast: draws carry on from the fit, with observation noise and crossing probabilities.
    fc = forecast(post, days=14, draws=8)
    assert fc.sizes["draw"] == 8 and fc.sizes["time"] == 63
    assert np.all(fc["predicted_weekly_reported_cases"].values >= 0)
    prob, table = crossing_probability(fc)
    assert set(table["draw"]) == set(range(8))
    assert np.all(np.diff(prob.values, axis=1) >= 0)  # P(crossed by date) never falls
    q = forecast_quantiles(fc)
    assert np.all(q["census_oxygen"].sel(quantile=0.95) >= q["census_oxygen"].sel(quantile=0.05))


@pytest.fixture(scope="module")
def short_fit():
    config = _config(21, [], steps=10, walkers=10)
    truth = {"rt_start": 1.6, "initial_infections": 60.0, "ascertainment_1": 0.3, "dispersion_reported_cases": 20.0}
    data = synthetic(config, truth, seed=1)
    with pytest.warns(RuntimeWarning, match="NOT CONVERGED"):
        post = fit(config, data)
    return post, data


def test_fit_machinery_on_a_short_window(short_fit, tmp_path):
    post, _ = short_fit
    assert post.sizes == {"chain": 10, "draw": 7, "date": 21}
    assert post.attrs["converged"] == 0 and post.attrs["model_runs"] >= 100
    assert np.isnan(post["observed_reported_cases"].values[5])  # the missing day stays missing
    written = write_fit(post, tmp_path / "fit")
    back = read_fit(written)
    assert summary(back).equals(summary(post))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_figures_of_a_fit_and_forecast(short_fit, lang):
    from scenarios.calibration import figures

    post, data = short_fit
    fc = forecast(post, days=7, draws=10)
    fig = figures.forecast_figure(fc, data, lang=lang)
    gids = {a.get_gid() for a in fig.axes[0].get_children()} | {t.get_gid() for t in fig.texts}
    assert {"median", "observed", "cutoff", "source", "warn"} <= gids
    prob = figures.crossing_probability_figure(fc, lang=lang)
    gids = {a.get_gid() for a in prob.axes[0].get_children()} | {t.get_gid() for t in prob.texts}
    assert {"p:activation", "p:overflow", "cutoff", "warn"} <= gids
    # The lines are the forecast's own probabilities, in percent.
    expected, _ = crossing_probability(fc)
    line = next(x for x in prob.axes[0].get_lines() if x.get_gid() == "p:activation")
    np.testing.assert_allclose(line.get_ydata(), 100 * expected.sel(criterion="activation").values)
    rt = figures.rt_over_time(post)
    assert rt.sizes["time"] == 21 and float(rt.min()) > 0
    assert "Rt" in figures.rt_figure(post, lang=lang).axes[0].get_ylabel()


@pytest.mark.slow
def test_constant_rt_credible_intervals_cover_the_truth_over_repeated_fits():
    truth = {"rt_start": 1.6, "initial_infections": 60.0, "ascertainment_1": 0.3, "dispersion_reported_cases": 20.0}
    config = _config(35, [], steps=60, knot_days=7)
    hits = [_rt_inside(_fit(config, synthetic(config, truth, seed=s)), {14: 1.6})[14] for s in range(4)]
    assert sum(hits) >= 3, hits


def test_forecast_command_writes_quantiles_and_probabilities(short_fit, tmp_path, capsys):
    from scenarios.cli import main

    post, _ = short_fit
    folder = write_fit(post, tmp_path / "fit")
    assert main(["forecast", str(folder), "--days", "7", "--draws", "3"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING: NOT CONVERGED" in printed and "P(" in printed
    names = sorted(p.name for p in (folder / "forecast").iterdir())
    assert names == [
        "crossing_probability.csv",
        "crossings.csv",
        "forecast.nc",
        "forecast_config.toml",
        "posterior.nc",
        "quantiles.nc",
        "whatifs.toml",
    ]
    prob = pd.read_csv(folder / "forecast" / "crossing_probability.csv", index_col=0)
    assert len(prob) == 28 and ((prob >= 0) & (prob <= 1)).all().all()


@pytest.fixture(scope="module")
def knot_fit():
    """A short fit with weekly knots; the step prior is so tight that the forecast's Rt is exact arithmetic."""
    config = _config(28, [], steps=10, walkers=14, knot_days=7, rt_step={"median": 1.0, "sd": 1e-4})
    config = config.model_copy(update={"calibration": config.calibration.model_copy(update={"rt_damping": 0.5})})
    truth = {"rt_start": 1.6, "initial_infections": 60.0, "ascertainment_1": 0.3, "dispersion_reported_cases": 20.0}
    data = synthetic(_config(28, []), truth, seed=2)
    with pytest.warns(RuntimeWarning, match="NOT CONVERGED"):
        return fit(config, data)


def test_forecast_continues_the_random_walk_damped_towards_rt_1(knot_fit):
    post = knot_fit
    knots = [n for n in post.attrs["parameters"].split(",") if n.startswith("rt_change")]
    assert knots == ["rt_change_1", "rt_change_2"]  # days 7 and 14 of days 0..27; day 21 has too few data after it
    fc = forecast(post, days=21, draws=5)
    product = fc["contact_multiplier"].isel(setting=0)  # Rt ratio to day 0, the same on every setting
    rt_last = fc["param_rt_start"] * np.prod([fc[f"param_{k}"] for k in knots], axis=0)
    np.testing.assert_allclose(fc["param_rt_start"] * product.isel(time=20), rt_last)
    for week in (1, 2, 3, 4):  # the forecast's knots on days 21 (the last fitted week), 28, 35, 42: log Rt halves
        rt = fc["param_rt_start"] * product.isel(time=14 + 7 * week)
        np.testing.assert_allclose(np.log(rt), 0.5**week * np.log(rt_last), atol=2e-3)
    assert np.all(product.isel(time=slice(29, 35)).values == product.isel(time=[28]).values)  # constant between


def test_forecast_steps_have_their_own_sd_and_stay_within_the_multiplier_bound(knot_fit):
    import json

    from scenarios.calibration.forecast import _multiplier_limit

    cfg = json.loads(knot_fit.attrs["config_json"])
    cfg["calibration"].update(rt_damping=0.0, forecast_rt_step_sd=0.3)
    post = knot_fit.assign_attrs(config_json=json.dumps(cfg))
    fc = forecast(post, days=14, draws=6, seed=2)
    product = fc["contact_multiplier"].isel(setting=0)
    z = np.random.default_rng([2, 1]).standard_normal((3, 6))  # the forecast's steps: knots on days 21, 28, 35
    for k, day in enumerate((21, 28, 35)):  # damping 0: log Rt at each future knot is a fresh N(0, 0.3) step
        np.testing.assert_allclose(np.log(fc["param_rt_start"] * product.isel(time=day)), 0.3 * z[k], atol=1e-9)
    # A draw far below Rt = 1 climbs back by at most the largest multiplier a knot may set, knot after knot.
    low = fc.isel(draw=0)
    cfg["calibration"]["forecast_rt_step_sd"] = 1e-6
    values = {n: float(low[f"param_{n}"]) for n in knot_fit.attrs["parameters"].split(",")}
    values["rt_change_2"] = 0.01 / (values["rt_start"] * values["rt_change_1"])  # Rt 0.01 from day 14
    one = knot_fit.isel(chain=[0], draw=[0]).assign({n: (("chain", "draw"), [[v]]) for n, v in values.items()})
    fc = forecast(one.assign_attrs(config_json=json.dumps(cfg)), days=14, draws=1)
    rt = values["rt_start"] * fc["contact_multiplier"].isel(draw=0, setting=0).values
    top = _multiplier_limit()
    np.testing.assert_allclose(rt[[20, 21, 28, 35]], [0.01, 0.01 * top, 0.01 * top**2, 1.0], rtol=1e-5)


def test_agent_based_engine_forecasts_from_the_same_posterior_draws(knot_fit):
    post = knot_fit
    abm = post.assign_attrs(
        config_json=fitted_json(post, {"abm": {"pop_scale": 5}})  # 200,000 agents, 12 infected on day 0
    )
    seir = forecast(post, days=7, draws=3, seed=4)
    agents = forecast(abm, days=7, draws=3, seed=4, engine="abm")
    assert agents.attrs["engine"] == "abm" and agents.sizes["draw"] == 3
    np.testing.assert_array_equal(agents["param_rt_start"], seir["param_rt_start"])  # the same draws
    np.testing.assert_allclose(agents["contact_multiplier"], seir["contact_multiplier"])  # the same Rt path
    assert float(agents["new_infections"].sum()) > 0
    assert np.all(agents["predicted_weekly_reported_cases"].values >= 0)
    # Stochastic, but on the same scale as the deterministic engine: total infections within a factor 3.
    ratio = float(agents["new_infections"].sum()) / float(seir["new_infections"].sum())
    assert 1 / 3 < ratio < 3, ratio


def fitted_json(post, update: dict) -> str:
    import json

    cfg = json.loads(post.attrs["config_json"])
    cfg.update(update)
    return json.dumps(cfg)


CENSUS_TOML = """
[scenario]
name = "census fit"
start_date = 2026-01-01
horizon_days = 56

[population]
total = 1000000
contacts = "homogeneous"

[variants.resident]
rt_start = 1.5
initial_infections = 50

[immunity]
ve_infection_prior = 1.0
ve_severe_prior = 1.0
waning_days = 0
waning_days_infection = 0

[calibration]
series = ["reported_cases", "census_oxygen"]
priors.ascertainment = { median = 0.3, sd = 0.5 }
sampler = { steps = 40, burn = 13, optimizer_evaluations = 60 }
"""


@pytest.mark.slow  # ~600 full model runs (the census needs the care module)
def test_census_series_fitted_end_to_end_through_the_cli(tmp_path, capsys):
    from scenarios.cli import main
    from scenarios.config import load_config

    path = tmp_path / "census.toml"
    path.write_text(CENSUS_TOML)
    config = load_config(path)
    truth = {
        "rt_start": 1.8,
        "initial_infections": 80.0,
        "ascertainment_1": 0.3,
        "dispersion_reported_cases": 30.0,
        "dispersion_census_oxygen": 50.0,
        "severity_scale": 1.0,
    }
    base = base_config(config, config.scenario.end_date)
    params = Parameters.of(config.calibration)
    assert set(params.names) == set(truth)
    values = np.array([[truth[n] for n in params.names]])
    ds = simulate_draws(base, params.draws(base, values), variables=needed_variables(config.calibration.series))
    mu = expected_series(ds, config.calibration.series, params, values, base)
    rng = np.random.default_rng(7)
    dates = pd.date_range(START, config.scenario.end_date)
    rows = []
    for series, every in (("reported_cases", 1), ("census_oxygen", 7)):  # a census once a week
        size = truth[f"dispersion_{series}"]
        y = rng.negative_binomial(size, size / (size + mu[series][0]))
        rows += [f"{d.date()},{series},{v}" for d, v in zip(dates[::every], y[::every], strict=True)]
    assert max(mu["census_oxygen"][0]) > 50  # a census worth fitting
    data = tmp_path / "observed.csv"
    data.write_text("date,variable,value\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains: convergence is not the point here
        assert main(["fit", str(path), "--data", str(data), "--out", str(tmp_path / "fit")]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "fit" / "summary.csv").set_index("parameter")
    for name in ("rt_start", "severity_scale"):
        assert table.loc[name, "q05"] <= truth[name] <= table.loc[name, "q95"], table
    post = read_fit(tmp_path / "fit")
    assert int(np.isfinite(post["observed_census_oxygen"].values).sum()) == 8


def test_regular_knots_and_fixed_change_dates_exclude_each_other():
    with pytest.raises(ValueError, match="rt_knot_days .* or rt_change_dates, not both"):
        _config(21, ["2026-01-10"], knot_days=7)


def test_forecast_writes_a_sweep_that_reruns_its_draws_under_other_whatifs(knot_fit, tmp_path, capsys):
    """forecast_config.toml + posterior.nc + whatifs.toml: `baseline` repeats the forecast draw for draw."""
    from scenarios.cli import main
    from scenarios.results import open_zarr_store

    fit_dir = write_fit(knot_fit, tmp_path / "fit")
    assert main(["forecast", str(fit_dir), "--days", "14", "--draws", "4", "--seed", "3"]) == 0
    folder = fit_dir / "forecast"
    assert "scenarios sweep" in capsys.readouterr().out
    assert main(["validate", str(folder / "forecast_config.toml")]) == 0
    sweep = folder / "whatifs.toml"
    sweep.write_text(sweep.read_text() + '\n[whatifs."one oxygen bed"]\n"capacity.beds_oxygen" = 1\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "store.zarr")]) == 0
    capsys.readouterr()
    fc = read_forecast_nc(folder)
    store = open_zarr_store(tmp_path / "store.zarr").isel(province=0).load()
    base, scarce = store.sel(whatif="baseline"), store.sel(whatif="one oxygen bed")
    for name in ("new_reported_cases", "census_oxygen", "deaths"):  # every draw, day by day
        np.testing.assert_allclose(base[name].values, fc[name].values, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(scarce["new_infections"].values, base["new_infections"].values)
    assert float(scarce["unmet_oxygen"].sum()) > float(base["unmet_oxygen"].sum())


def read_forecast_nc(folder):
    import xarray as xr

    with xr.open_dataset(folder / "forecast.nc", engine="scipy") as ds:
        return ds.load()


def test_forecast_whatif_applies_and_refuses_what_the_draws_set(knot_fit, tmp_path, capsys):
    from scenarios.cli import main

    fc = forecast(knot_fit, days=7, draws=2, whatif={"capacity.beds_oxygen": 1})
    assert fc.attrs["whatif_json"] == '{"capacity.beds_oxygen": 1}'
    assert float(fc["beds_oxygen_available"].max()) <= 1
    fit_dir = write_fit(knot_fit, tmp_path / "fit")
    for key, says in (
        ("variants.resident.rt_start=2", "set by each posterior draw"),
        ("scenario.horizon_days=9", "--days"),
    ):
        assert main(["forecast", str(fit_dir), "--days", "7", "--draws", "2", "--set", key]) == 2
        err = capsys.readouterr().err
        assert f"--set {key.split('=')[0]}" in err and says in err and "Traceback" not in err
    assert not (fit_dir / "forecast").exists()  # nothing written


def test_sampler_coordinates_map_back_and_carry_the_jacobian():
    from scenarios.calibration.fit import FitProblem

    config = _config(35, [])
    truth = {"rt_start": 1.6, "initial_infections": 60.0, "ascertainment_1": 0.3, "dispersion_reported_cases": 20.0}
    data = synthetic(config, truth, seed=1)
    cal = config.calibration.model_copy(update={"ascertainment_change_dates": (START + dt.timedelta(days=14),)})
    problem = FitProblem(config.model_copy(update={"calibration": cal}), data)
    names = problem.params.names
    assert {"ascertainment_1", "ascertainment_2", "initial_infections"} <= set(names)
    rng = np.random.default_rng(0)
    theta = problem.params.prior_mean + 0.5 * rng.standard_normal((5, len(names)))
    x = problem.coordinates(theta)
    np.testing.assert_allclose(problem.theta(x), theta, rtol=1e-12, atol=1e-12)
    # The sampler moves log(share_1 x initial infections) and log(share_2 / share_1).
    nat = problem.params.natural(theta)
    i, a1, a2 = (names.index(n) for n in ("initial_infections", "ascertainment_1", "ascertainment_2"))
    np.testing.assert_allclose(x[:, i], np.log(nat[:, a1] * nat[:, i]))
    np.testing.assert_allclose(x[:, a2], np.log(nat[:, a2] / nat[:, a1]))
    # log |d theta / d x| against central differences of the map.
    h = 1e-6
    for row in x:
        jac = np.column_stack(
            [(problem.theta(row + h * e) - problem.theta(row - h * e)) / (2 * h) for e in np.eye(len(row))]
        )
        assert np.isclose(problem.log_jacobian(row), np.log(abs(np.linalg.det(jac))), atol=1e-6)
    # A later share above 1 is outside the model: no posterior there, and no warning.
    bad = x[0].copy()
    bad[a2] = 5.0
    assert problem.log_posterior(bad[None])[0] == -np.inf
