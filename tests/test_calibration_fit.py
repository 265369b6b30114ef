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


def _config(days: int, change: list[str], steps: int = 40, walkers: int = 0, **priors):
    return homogeneous(
        scenario={"horizon_days": days},
        variants={"resident": {"r0": None, "rt_start": 1.5, "initial_infections": 50}},
        calibration={
            "rt_change_dates": change,
            "priors": {"ascertainment": {"median": 0.3, "sd": 0.5}, **priors},
            "sampler": {"steps": steps, "burn": steps // 3, "walkers": walkers, "optimizer_evaluations": 60},
        },
    )


def synthetic(config, truth: dict[str, float], seed: int) -> pd.DataFrame:
    """Reported cases of the model at ``truth`` with negative-binomial noise, one missing day."""
    end = config.scenario.end_date
    base = base_config(config, end)
    params = Parameters.of(config.calibration)
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


@pytest.mark.slow  # ~300 model runs: seconds with scenarios.simulate.run_batch, minutes run by run
def test_recovers_stepped_rt_and_forecasts():
    config = _config(42, ["2026-01-22"])
    truth = {
        "rt_start": 2.0,
        "rt_change_1": 0.5,
        "initial_infections": 40.0,
        "ascertainment_1": 0.3,
        "dispersion_reported_cases": 30.0,
    }
    post = _fit(config, synthetic(config, truth, seed=3))
    inside = _inside(post, truth, ["rt_start", "rt_change_1"])
    assert all(inside.values()), (inside, summary(post))
    assert post.attrs["model_runs"] > 0 and "converged" in post.attrs["convergence_note"].lower()
    # Forecast: draws carry on from the fit, with observation noise and crossing probabilities.
    fc = forecast(post, days=14, draws=8)
    assert fc.sizes["draw"] == 8 and fc.sizes["time"] == 56
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
    fc = forecast(post, days=7, draws=4)
    fig = figures.forecast_figure(fc, data, lang=lang)
    gids = {a.get_gid() for a in fig.axes[0].get_children()} | {t.get_gid() for t in fig.texts}
    assert {"median", "observed", "cutoff", "source", "warn"} <= gids
    assert figures.crossing_probability_figure(fc, lang=lang).axes[0].get_ylim()[1] > 1
    rt = figures.rt_over_time(post)
    assert rt.sizes["time"] == 21 and float(rt.min()) > 0
    assert "Rt" in figures.rt_figure(post, lang=lang).axes[0].get_ylabel()


@pytest.mark.slow
def test_constant_rt_credible_intervals_cover_the_truth_over_repeated_fits():
    config = _config(35, [], steps=30)
    truth = {"rt_start": 1.6, "initial_infections": 60.0, "ascertainment_1": 0.3, "dispersion_reported_cases": 20.0}
    hits = [_inside(_fit(config, synthetic(config, truth, seed=s)), truth, ["rt_start"])["rt_start"] for s in range(4)]
    assert sum(hits) >= 3, hits


def test_forecast_command_writes_quantiles_and_probabilities(short_fit, tmp_path, capsys):
    from scenarios.cli import main

    post, _ = short_fit
    folder = write_fit(post, tmp_path / "fit")
    assert main(["forecast", str(folder), "--days", "7", "--draws", "3"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING: NOT CONVERGED" in printed and "P(" in printed
    names = sorted(p.name for p in (folder / "forecast").iterdir())
    assert names == ["crossing_probability.csv", "crossings.csv", "forecast.nc", "quantiles.nc"]
    prob = pd.read_csv(folder / "forecast" / "crossing_probability.csv", index_col=0)
    assert len(prob) == 28 and ((prob >= 0) & (prob <= 1)).all().all()
