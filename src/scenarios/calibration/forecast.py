"""Posterior-predictive forecast: run posterior draws forward from the last observed date.

Each draw is a full run (indicators, care, oxygen) of the fitted base config extended by ``days``, with the
reporting share of the last period; observation noise (negative binomial, the fit's dispersion) is added to the
predicted weekly reported cases. Crossing dates come from :func:`scenarios.crossings` on each draw.

Rt after the last estimated knot (a knot needs a week of data after it, so this includes the last fitted
week): a random walk on log Rt (``rt_knot_days``) goes on at the same knots, each draw taking its own future
steps from the step prior, damped towards Rt = 1 by ``rt_damping`` (a damped trend: growth slows down
instead of persisting for weeks); with fixed change dates Rt is carried forward.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..config import SETTINGS, Config, ConfigError, apply_overrides, to_toml
from ..config.base import ContactScaling
from ..indicators import crossings, share_crossed
from ..results import output_folder, write_netcdf
from .fit import fitted_config, posterior_values
from .likelihood import expected_series
from .model import Parameters, first_knot_intervention, fit_knots, knot_intervention, simulate_draws
from .observed import weekly_sums

__all__ = ["crossing_probability", "forecast", "forecast_quantiles", "write_forecast"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DEMAND = (
    "census_oxygen",
    "census_icu",
    "needing_oxygen",
    "oxygen_demand_m3_per_day",
    "cases_7d_per_100k",
    "oxygen_patients_7d_avg_per_100k",
    "deaths_7d_per_100k",
    "free_covid_beds_per_100k",
    "free_staffed_icu_beds_per_100k",
)


def forecast(
    post: xr.Dataset,
    days: int = 28,
    draws: int = 100,
    *,
    engine: str = "seir",
    seed: int = 0,
    progress: bool = False,
    whatif: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Run ``draws`` posterior draws to ``days`` after the fit's last date.

    Parameters
    ----------
    post : xarray.Dataset
        A fit from :func:`scenarios.fit`.
    days : int
        Days forecast after the last fitted date.
    draws : int
        Posterior draws run forward.
    engine : {"seir", "abm"}
        Transmission engine; the agent-based engine runs the same draws (stochastic, seeded per draw).
    seed : int
        Picks the draws, the observation noise and the engine's randomness.
    progress : bool
        Show a progress bar over draws.
    whatif : mapping, optional
        Dotted config keys -> values changed for the forecast (as ``--set``): e.g. more oxygen beds, a
        more severe variant. Keys the posterior draws set (Rt, initial infections, reporting share), the
        scenario's dates and the interventions holding Rt's knots are refused.

    Returns
    -------
    xarray.Dataset
        Results of every draw along ``draw`` (the schema of :func:`scenarios.run`), plus
        ``expected_reported_cases`` (draw, time) under the fitted ascertainment and
        ``predicted_weekly_reported_cases`` (draw, week) with observation noise, ``week_start`` dates,
        and the parameter values of each draw (``param_<name>``). ``attrs`` carry the fit's window,
        ``forecast_from`` (first forecast date), ``whatif_json``, and what reruns any draw:
        ``forecast_config_json`` (the config every draw starts from) and ``draw_overrides_json`` (each
        draw's values of its dotted keys), which :func:`write_forecast` also writes as a sweep's input.

    Raises
    ------
    ConfigError
        A ``whatif`` key that is refused or not valid for the config, naming the key.
    """
    base = fitted_config(post)
    knots = fit_knots(base)
    params = Parameters.of(base.calibration, len(knots))
    values = posterior_values(post, draws, seed)
    until = dt.date.fromisoformat(post.attrs["fit_until"])
    config = apply_overrides(base, {"scenario.horizon_days": base.scenario.horizon_days + days}, where="forecast")
    config, future = _future_knots(config, knots, until + dt.timedelta(days=days))
    overrides = params.draws(config, values)
    overrides.update(_future_steps(config, params, values, len(future), np.random.default_rng([seed, 1])))
    if params.n_ascertainment:
        # Reported cases beyond the data (and the case indicators) use the last period's reporting share.
        overrides["reporting.ascertainment"] = params.get(values, "ascertainment")[:, -1]
    if whatif:
        config = _apply_whatif(config, dict(whatif), set(overrides))
    ds = simulate_draws(config, overrides, engine=engine, seed=seed, progress=progress)
    ds = ds.assign_coords(draw=np.arange(len(values)))
    if "reported_cases" in params.series:
        exp = expected_series(ds, ["reported_cases"], params, values, config)["reported_cases"]
        ds["expected_reported_cases"] = (("draw", "time"), exp)
        ds["expected_reported_cases"].attrs = {
            "units": "people/day",
            "long_name": "expected reported cases (fitted ascertainment)",
            "cell_methods": "time: sum",
        }
        first = (dt.date.fromisoformat(post.attrs["fit_from"]) - config.scenario.start_date).days
        weekly, _ = weekly_sums(exp, first)
        size = params.get(values, "dispersion_reported_cases")[:, :1]
        rng = np.random.default_rng(seed)
        noisy = rng.negative_binomial(size, size / (size + np.maximum(weekly, 1e-9)))
        weeks = pd.date_range(post.attrs["fit_from"], periods=weekly.shape[1], freq="7D")
        ds = ds.assign_coords(week_start=("week", weeks.values))
        ds["predicted_weekly_reported_cases"] = (("draw", "week"), noisy.astype(float))
        ds["predicted_weekly_reported_cases"].attrs = {
            "units": "people/week",
            "long_name": "reported cases per week, posterior predictive (observation noise included)",
            "cell_methods": "time: sum",
        }
    for i, name in enumerate(params.names):
        ds[f"param_{name}"] = ("draw", values[:, i])
    ds.attrs.update(
        {
            "fit_from": post.attrs["fit_from"],
            "fit_until": post.attrs["fit_until"],
            "forecast_from": (until + dt.timedelta(days=1)).isoformat(),
            "area_name": post.attrs.get("area") or ds.attrs.get("area_name", ""),
            "converged": post.attrs["converged"],
            "convergence_note": post.attrs["convergence_note"],
            "whatif_json": json.dumps(dict(whatif or {}), default=str),
            "forecast_config_json": config.model_dump_json(),
            "draw_overrides_json": json.dumps({k: np.asarray(v).tolist() for k, v in overrides.items()}),
        }
    )
    return ds


def _apply_whatif(config: Config, whatif: dict[str, Any], drawn: set[str]) -> Config:
    """``config`` with a forecast's what-if applied; keys the forecast itself sets are refused by name."""
    fixed = ("scenario", "interventions", "calibration")
    refused = [
        f"--set {k}: set by each posterior draw; a what-if cannot change it"
        if k in drawn
        else f"--set {k}: the forecast sets the dates and Rt's knots (use --days); a what-if cannot change it"
        for k in whatif
        if k in drawn or k.split(".")[0] in fixed
    ]
    if refused:
        raise ConfigError(refused)
    return apply_overrides(config, whatif, where="--set")


def _future_knots(config: Config, knots: tuple[dt.date, ...], end: dt.date) -> tuple[Config, list[dt.date]]:
    """Add the random walk's knots after the last estimated one, up to ``end``, as fit interventions.

    None for fixed change dates. The first may fall in the last fitted week, which the data could not inform.
    """
    step = config.calibration.rt_knot_days if config.calibration else 0
    if not step:
        return config, []
    last = knots[-1] if knots else config.scenario.start_date
    future = []
    while last + dt.timedelta(days=step) <= end:
        last += dt.timedelta(days=step)
        future.append(last)
    added = [knot_intervention(d) for d in future]
    dumped = [iv.model_dump() for iv in config.interventions]
    return apply_overrides(config, {"interventions": dumped + added}, where="forecast"), future


def _future_steps(
    config: Config, params: Parameters, values: np.ndarray, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Rt ratios at ``n`` future knots per draw: log Rt_next = damping x log Rt + a normal step.

    The step's sd is ``forecast_rt_step_sd``, by default the ``rt_step`` prior's.
    """
    if not n:
        return {}
    cal = config.calibration
    log_rt = np.log(params.get(values, "rt_start")[:, 0]) + np.log(params.get(values, "rt_change")).sum(axis=1)
    first = first_knot_intervention(config) + params.n_rt_changes
    # A knot's ratio is a contact multiplier, which the config bounds: a draw whose Rt sits far below 1 reaches
    # it over several knots instead of in one (damping 0 would otherwise ask for any ratio at once).
    top = np.log(_multiplier_limit())
    sd = cal.forecast_rt_step_sd or cal.priors.rt_step.sd
    out = {}
    for j in range(n):
        new = cal.rt_damping * log_rt + sd * rng.standard_normal(len(log_rt))
        step = np.minimum(new - log_rt, top)
        for s in SETTINGS:
            out[f"interventions.{first + j}.{s}"] = np.exp(step)
        log_rt = log_rt + step
    return out


def _multiplier_limit() -> float:
    """Return the largest contact multiplier an intervention may set (the schema's bound)."""
    bounds = [m.le for m in ContactScaling.model_fields["home"].metadata if getattr(m, "le", None) is not None]
    return float(min(bounds))


def forecast_quantiles(fc: xr.Dataset, quantiles: tuple[float, ...] = QUANTILES) -> xr.Dataset:
    """Quantiles over draws of every indicator, of oxygen/ICU demand and of expected reported cases, per date."""
    names = [n for n in (*DEMAND, "expected_reported_cases") if n in fc]
    out = xr.Dataset({n: (fc[n].sum("age_group") if "age_group" in fc[n].dims else fc[n]) for n in names})
    with warnings.catch_warnings():  # the 7-day indicators are undefined (NaN) on the first days
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        q = out.quantile(list(quantiles), dim="draw")
    for n in names:
        q[n].attrs = fc[n].attrs
    q.attrs = dict(fc.attrs)
    return q


def crossing_probability(fc: xr.Dataset) -> tuple[xr.DataArray, pd.DataFrame]:
    """P(each criterion, the activation and overflow met by each date), and each draw's crossing table.

    Returns
    -------
    probability : xarray.DataArray, dims (criterion, time)
        Share of draws whose first date is on or before each date.
    table : pandas.DataFrame
        :func:`scenarios.crossings` of every draw (a ``draw`` column); ``lead_days`` of the ``activation``
        rows is the lead-time distribution before care runs out.
    """
    table = crossings(fc)
    da = share_crossed(table, fc.time.values, fc.sizes["draw"])
    da.attrs["long_name"] = "probability the threshold has been crossed by this date"
    return da, table


FORECAST_OUTPUTS = {
    "forecast.nc",
    "quantiles.nc",
    "crossing_probability.csv",
    "crossings.csv",
    "forecast_config.toml",
    "posterior.nc",
    "whatifs.toml",
}


def write_forecast(fc: xr.Dataset, out: str | Path) -> Path:
    """Write a forecast's outputs into the folder ``out``.

    ``forecast.nc`` (all draws), ``quantiles.nc``, ``crossing_probability.csv`` and ``crossings.csv``, and
    what runs the same draws under other what-ifs: ``forecast_config.toml`` (the config every draw starts
    from), ``posterior.nc`` (each draw's values, the sweep file's ``[posterior]`` contract) and
    ``whatifs.toml``, a sweep file over them (``scenarios sweep whatifs.toml --out DIR``; its ``baseline``
    what-if repeats this forecast draw for draw). All or nothing: the set replaces an earlier one in one
    rename (see :func:`results.output_folder`).
    """
    with output_folder(out, FORECAST_OUTPUTS) as tmp:
        write_netcdf(fc, tmp / "forecast.nc")
        write_netcdf(forecast_quantiles(fc), tmp / "quantiles.nc")
        prob, table = crossing_probability(fc)
        prob.to_pandas().T.to_csv(tmp / "crossing_probability.csv", float_format="%.4g", date_format="%Y-%m-%d")
        table.to_csv(tmp / "crossings.csv", index=False, date_format="%Y-%m-%d")
        _write_sweep_inputs(fc, tmp)
    return Path(out)


def _write_sweep_inputs(fc: xr.Dataset, folder: Path) -> None:
    config = Config.model_validate_json(fc.attrs["forecast_config_json"])
    a = fc.attrs
    about = f"the forecast from {a['forecast_from']} of a fit to {a['fit_from']} .. {a['fit_until']}"
    header = [f"The config every posterior draw of {about} starts from;", "posterior.nc holds each draw's values."]
    (folder / "forecast_config.toml").write_text(to_toml(config, header), encoding="utf-8")
    draws = json.loads(a["draw_overrides_json"])
    posterior = xr.Dataset({k: ("draw", np.asarray(v, dtype=float)) for k, v in draws.items()})
    posterior.attrs = {"title": f"posterior draws of {about}", "source": "scenarios forecast"}
    write_netcdf(posterior, folder / "posterior.nc")
    n = fc.sizes["draw"]
    repeats = (  # the agent-based engine is stochastic and a sweep seeds its cells by its own rule
        "`baseline` repeats the forecast."
        if a["engine"] == "seir"
        else "`baseline` runs the forecast's draws with the sweep's own seeds."
    )
    sweep = [
        f"# What-ifs on {about}: `scenarios sweep whatifs.toml --out DIR` runs its {n} posterior draws",
        f"# (replicate k = draw k of forecast.nc) under every what-if below; {repeats}",
        "# Add what-ifs as dotted config keys, e.g.",
        '#   [whatifs."300 more oxygen beds"]',
        '#   "capacity.beds_oxygen" = 1300',
        f"name = {json.dumps('What-ifs on ' + about)}",
        'base = "forecast_config.toml"',
        f'engine = "{a["engine"]}"',
        "seed = 0",
        "",
        "[posterior]",
        'path = "posterior.nc"',
        "",
        "[whatifs.baseline]",
    ]
    (folder / "whatifs.toml").write_text("\n".join(sweep) + "\n", encoding="utf-8")
