"""The ``[calibration]`` section: which parameters a fit estimates, their priors, the window and the series used."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from .base import StrictModel, param

__all__ = ["Calibration", "Prior", "Priors", "Sampler"]

Series = Literal["reported_cases", "deaths", "census_oxygen", "census_icu", "census_total", "admissions"]


class Prior(StrictModel):
    """Normal prior on the transformed scale of a parameter (log for positive values, logit for fractions)."""

    median: float = param(units="as the parameter", source="user", description="Prior median on the natural scale.")
    sd: float = param(
        units="1 (log or logit scale)",
        source="user",
        description="Prior standard deviation on the transformed scale (log, logit; plain for log-Rt changes).",
        gt=0,
    )


class Priors(StrictModel):
    """Priors of the estimated parameters; defaults are weakly informative for a Delta-like wave."""

    rt_start: Prior = Field(
        Prior(median=1.5, sd=0.5),
        description="Rt on the first day (log scale); units 1. Source: weakly informative, Delta Rt 1-4 "
        "(parameters.md s.8).",
    )
    rt_change: Prior = Field(
        Prior(median=1.0, sd=0.4),
        description="Ratio of Rt after each change date to before it (sd on the log scale, a random walk "
        "on log Rt); units 1. Source: assumption, lockdowns changed Rt by up to ~x0.5 within weeks.",
    )
    rt_step: Prior = Field(
        Prior(median=1.0, sd=0.2),
        description="Ratio of Rt at each regular knot to the knot before (``rt_knot_days``; sd on the log "
        "scale: the step of a random walk on log Rt); units 1. Source: epidemia's random-walk default "
        "(half-normal scale 0.2 on the sd of weekly increments; Scott et al. 2020, Unwin et al. 2020): "
        "Rt moves by about 20% a week without a policy change (recalled).",
    )
    initial_infections: Prior = Field(
        Prior(median=100.0, sd=2.0),
        description="People infected on the first day (log scale); units people. Source: weakly informative.",
    )
    ascertainment: Prior = Field(
        Prior(median=0.2, sd=1.5),
        description="Share of infections reported, each period (logit scale); units 1. Source: weakly "
        "informative (seroprevalence in HCMC 2021 suggests tens of percent).",
    )
    dispersion: Prior = Field(
        Prior(median=10.0, sd=1.5),
        description="Negative-binomial size of each series (log scale; small = overdispersed); units 1. "
        "Source: weakly informative.",
    )
    severity_scale: Prior = Field(
        Prior(median=1.0, sd=0.7),
        description="Multiplier on modelled census/admissions/deaths (severity x length of stay, log scale); "
        "units 1. Source: assumption, centred on the config's severity.",
    )


class Sampler(StrictModel):
    """How hard the posterior sampler works (emcee, every walker its own Metropolis-Hastings chain)."""

    walkers: int = param(
        16,
        units="1",
        source="assumption: enough chains for R-hat; a step is one batched model call of all walkers, and "
        "16 already runs as fast per run as 92 (docs/calibration.md)",
        description="Walkers: independent Metropolis-Hastings chains, compared by R-hat.",
        ge=4,
    )
    steps: int = param(
        2000,
        units="1",
        source="assumption from measured fits with 16 walkers: 1,200 steps converged 15 of 16 back-test fits "
        "(8-14 parameters), a 120-day fit (21) needed 4,500 (docs/calibration.md)",
        description="Steps of each walker, warm-up included.",
        ge=10,
    )
    burn: int = param(
        1000,
        units="1",
        source="assumption: two adaptation windows of a quarter of the steps each",
        description="Warm-up steps (the proposals adapt; discarded); at most half of steps.",
        ge=0,
    )
    optimizer_evaluations: int = param(
        2000,
        units="1",
        source="assumption: about 100 L-BFGS steps of a 20-parameter fit",
        description="Most model runs for the point estimate (scipy.optimize, L-BFGS-B; a gradient costs "
        "parameters + 1 runs in one batched call).",
        ge=0,
    )
    seed: int = param(0, units="1", source="user", description="Seed of the sampler's walkers.", ge=0)

    @model_validator(mode="after")
    def _check(self) -> Sampler:
        if self.burn * 2 > self.steps:
            raise ValueError(f"burn ({self.burn}) must be at most half of steps ({self.steps})")
        return self


class Calibration(StrictModel):
    """Fit the config to observed series: Rt by knots, ascertainment by period, NB observations.

    Rt is constant between knots (realised as date-bounded contact multipliers on all settings, so both
    engines run the same posterior draws): either a random walk on log Rt at regular knots every
    ``rt_knot_days`` from the start up to the last fitted date (continued, damped by ``rt_damping``, in the
    forecast), or user-given ``rt_change_dates`` (Rt carried forward in the forecast). The ascertainment
    changes at ``ascertainment_change_dates``.
    Counts are compared as weekly sums (the honest answer to batched reporting), censuses by date.
    """

    fit_from: dt.date | None = param(
        None,
        units="date",
        source="user",
        description="First date compared with data (default: the scenario's start date).",
    )
    fit_until: dt.date | None = param(
        None,
        units="date",
        source="user",
        description="Last date compared with data (default: the last observed date; --until overrides).",
    )
    series: tuple[Series, ...] = Field(("reported_cases",), description="Observed series the fit uses.", min_length=1)
    rt_change_dates: tuple[dt.date, ...] = param(
        (),
        units="date",
        source="user (e.g. the dates of Directive 16 lockdowns)",
        description="Dates from which Rt may take a new value (piecewise-constant Rt).",
    )
    rt_knot_days: int = param(
        0,
        units="days",
        source="user; 7 in the shipped 2021 configs (weekly knots, the common choice, e.g. epidemia, EpiNow2)",
        description="Days between knots of a random walk on log Rt (0 = use rt_change_dates instead).",
        ge=0,
    )
    rt_damping: float = param(
        1.0,
        units="1 per knot",
        source="user; 0 in the shipped 2021 configs, chosen on Tien Giang, Tay Ninh, Can Tho and Khanh Hoa, "
        "never on the scored provinces (docs/calibration.md)",
        description="Forecast of a random walk: log Rt at each future knot is this share of the one before, "
        "plus a step of the rt_step prior (1 = undamped; < 1 brings Rt towards 1, a damped trend; 0 = Rt "
        "centred on 1 at every future knot).",
        ge=0,
        le=1,
    )
    ascertainment_change_dates: tuple[dt.date, ...] = param(
        (),
        units="date",
        source="user (e.g. when mass or rapid testing started)",
        description="Dates from which the share of infections reported may change.",
    )
    weekly: bool = Field(True, description="Compare counts as weekly sums (true) or daily (false).")
    priors: Priors = Priors()
    sampler: Sampler = Sampler()

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        if len(set(self.series)) != len(self.series):
            raise ValueError("series lists a variable twice")
        for name in ("rt_change_dates", "ascertainment_change_dates"):
            dates = getattr(self, name)
            if list(dates) != sorted(set(dates)):
                raise ValueError(f"{name} must be increasing, without repeats")
        if self.rt_knot_days and self.rt_change_dates:
            raise ValueError("give rt_knot_days (regular knots) or rt_change_dates, not both")
        if self.fit_from and self.fit_until and self.fit_until < self.fit_from:
            raise ValueError(f"fit_until {self.fit_until} is before fit_from {self.fit_from}")
        return self
