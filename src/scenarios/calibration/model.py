"""Estimated parameters as numbers on one fixed base config, and every model evaluation of a fit.

A draw changes only numbers: Rt on day 0, the Rt ratio at each knot (regular knots of a random walk on log
Rt, or fixed change dates; date-bounded contact multipliers on all settings, so the agent-based engine runs
the same draws) and the initial infections.
Ascertainment, dispersion and severity scaling act in the observation model, without re-running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import expit

from .. import simulate
from ..config import SETTINGS, Config, apply_overrides
from ..config.calibration import Calibration, Prior
from ..draws import member_configs

__all__ = ["Parameters", "base_config", "fit_knots", "knot_dates", "simulate_draws"]

FIT_PREFIX = "fit: Rt change from "


def knot_dates(cal: Calibration, start: dt.date, until: dt.date) -> tuple[dt.date, ...]:
    """Dates after ``start`` up to ``until`` from which Rt may take a new value.

    Regular knots every ``rt_knot_days`` from ``start``, else the ``rt_change_dates`` in that span. A fit
    passes the last date with a week of data after it (later knots are the forecast's).
    """
    if cal.rt_knot_days:
        n = (until - start).days // cal.rt_knot_days
        return tuple(start + dt.timedelta(days=cal.rt_knot_days * k) for k in range(1, n + 1))
    return tuple(d for d in cal.rt_change_dates if start < d <= until)


def fit_knots(config: Config) -> tuple[dt.date, ...]:
    """Return the knot dates of a fitted base config (its fit interventions, in order)."""
    return tuple(iv.start_date for iv in config.interventions if iv.name.startswith(FIT_PREFIX))


def base_config(config: Config, end: dt.date, knots: Sequence[dt.date] | None = None) -> Config:
    """Return the fixed config every draw starts from: runs to ``end``, one open-ended multiplier per Rt knot.

    ``knots`` default to the ``rt_change_dates`` of the ``[calibration]`` section. Triggered policies are
    dropped: the observed data already carry the responses that were taken.
    """
    cal = config.calibration or Calibration()
    knots = cal.rt_change_dates if knots is None else knots
    res = config.variants.resident
    rt = res.rt_start if res.rt_start is not None else res.r0
    kept = [iv.model_dump() for iv in config.interventions if not iv.name.startswith(FIT_PREFIX)]
    added = [knot_intervention(d) for d in knots]
    return apply_overrides(
        config,
        {
            "scenario.horizon_days": (end - config.scenario.start_date).days + 1,
            "variants.resident.r0": None,
            "variants.resident.rt_start": rt,
            "interventions": kept + added,
            "policies": [],
        },
        where="calibration",
    )


def knot_intervention(date: dt.date) -> dict[str, Any]:
    """Return the open-ended contact multiplier (all settings, 1 until a draw sets it) of an Rt knot."""
    return {"name": f"{FIT_PREFIX}{date.isoformat()}", "start_date": date, **dict.fromkeys(SETTINGS, 1.0)}


def first_knot_intervention(config: Config) -> int:
    names = [iv.name for iv in config.interventions]
    fitted = [i for i, n in enumerate(names) if n.startswith(FIT_PREFIX)]
    return fitted[0] if fitted else len(names)


@dataclass(frozen=True)
class Parameters:
    """The estimated parameters of a fit, their transforms and priors.

    Sampling runs on the transformed scale (log for positive values, logit for fractions); ``natural``
    maps back. Names: ``rt_start``, ``rt_change_1..`` (Rt ratio at each knot), ``initial_infections``,
    ``ascertainment_1..``,
    ``dispersion_<series>``, and ``severity_scale`` when a series other than reported cases is fitted.
    """

    names: tuple[str, ...]
    transforms: tuple[str, ...]  # "log" or "logit"
    prior_mean: np.ndarray  # on the transformed scale
    prior_sd: np.ndarray
    series: tuple[str, ...]
    n_rt_changes: int
    n_ascertainment: int

    @classmethod
    def of(cls, cal: Calibration, n_knots: int | None = None) -> Parameters:
        """Parameters estimated under a ``[calibration]`` section with ``n_knots`` Rt knots (default: change dates)."""
        p = cal.priors
        n_knots = len(cal.rt_change_dates) if n_knots is None else n_knots
        step = p.rt_step if cal.rt_knot_days else p.rt_change
        rows: list[tuple[str, str, Prior]] = [("rt_start", "log", p.rt_start)]
        rows += [(f"rt_change_{k + 1}", "log", step) for k in range(n_knots)]
        rows += [("initial_infections", "log", p.initial_infections)]
        n_asc = len(cal.ascertainment_change_dates) + 1 if "reported_cases" in cal.series else 0
        rows += [(f"ascertainment_{k + 1}", "logit", p.ascertainment) for k in range(n_asc)]
        rows += [(f"dispersion_{s}", "log", p.dispersion) for s in cal.series]
        if any(s != "reported_cases" for s in cal.series):
            rows += [("severity_scale", "log", p.severity_scale)]
        names, transforms, priors = zip(*rows, strict=True)
        mean = np.array([_forward(pr.median, t) for _, t, pr in rows])
        return cls(names, transforms, mean, np.array([pr.sd for pr in priors]), cal.series, n_knots, n_asc)

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Map transformed values (..., n_params) to the natural scale."""
        theta = np.asarray(theta, dtype=float)
        logit = np.array([t == "logit" for t in self.transforms])
        return np.where(logit, expit(theta), np.exp(np.clip(theta, -700, 700)))  # expit never overflows

    def transformed(self, values: np.ndarray) -> np.ndarray:
        """Natural values (..., n_params) -> transformed scale."""
        values = np.asarray(values, dtype=float)
        logit = np.array([t == "logit" for t in self.transforms])
        with np.errstate(divide="ignore"):
            return np.where(logit, np.log(values) - np.log1p(-values), np.log(values))

    def log_prior(self, theta: np.ndarray) -> np.ndarray:
        """Return the normal log density on the transformed scale, summed over parameters; shape (...,)."""
        z = (np.asarray(theta) - self.prior_mean) / self.prior_sd
        return np.sum(-0.5 * z**2 - np.log(self.prior_sd * np.sqrt(2 * np.pi)), axis=-1)

    def get(self, values: np.ndarray, prefix: str) -> np.ndarray:
        """Columns of ``values`` (..., n_params) whose names start with ``prefix``, shape (..., n_matching)."""
        idx = [i for i, n in enumerate(self.names) if n == prefix or n.startswith(prefix + "_")]
        return np.asarray(values)[..., idx]

    def draws(self, config: Config, values: np.ndarray) -> dict[str, np.ndarray]:
        """Config overrides (dotted keys -> K values) for natural ``values`` of shape (K, n_params)."""
        values = np.atleast_2d(values)
        out = {
            "variants.resident.rt_start": self.get(values, "rt_start")[:, 0],
            "variants.resident.initial_infections": self.get(values, "initial_infections")[:, 0],
        }
        first = first_knot_intervention(config)
        ratios = self.get(values, "rt_change")
        for k in range(self.n_rt_changes):
            for s in SETTINGS:
                out[f"interventions.{first + k}.{s}"] = ratios[:, k]
        return out


def _forward(value: float, transform: str) -> float:
    return float(np.log(value) - np.log1p(-value)) if transform == "logit" else float(np.log(value))


def simulate_draws(
    config: Config,
    draws: Mapping[str, Sequence[float] | np.ndarray],
    *,
    engine: str = "seir",
    seed: int = 0,
    variables: Sequence[str] | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Run the model once per draw; every model evaluation of the calibration goes through here.

    Parameters
    ----------
    config : Config
        The fixed base config (see :func:`base_config`).
    draws : mapping
        Dotted config keys (list items too, e.g. ``interventions.3.work``) -> K values each.
    engine : {"seir", "abm"}
        Transmission engine.
    seed : int
        Seed of stochastic parts (draw ``i`` uses ``SeedSequence(seed).spawn`` child ``i``).
    variables : sequence of str, optional
        Keep only these result variables (saves memory in a fit).
    progress : bool
        Show a progress bar over draws.

    Returns
    -------
    xarray.Dataset
        The K runs stacked along ``draw``. The compartmental engine runs them in one
        :func:`scenarios.simulate.run_batch` call; the agent-based engine one by one.
    """
    k = len(next(iter(draws.values())))
    if engine == "seir":
        # A fit on reported cases needs only transmission and reporting: stop there (several times cheaper).
        cheap = variables is not None and set(variables) <= set(simulate.TRANSMISSION_VARIABLES) and not config.policies
        ds = simulate.run_batch(
            config, draws, dim="draw", progress=progress, outputs="transmission" if cheap else "all"
        )
    else:
        from tqdm import tqdm

        seeds = np.random.SeedSequence(seed).spawn(k)
        runs = []
        members = member_configs(config, draws)
        for i in tqdm(range(k), disable=not progress, desc="model runs", unit="run"):
            one = simulate.run(members[i], engine=engine, seed=seeds[i])
            runs.append(one[list(variables)] if variables else one)
        ds = xr.concat(runs, dim="draw", data_vars="all", coords="minimal", compat="override", join="override")
    return ds[list(variables)] if variables else ds
