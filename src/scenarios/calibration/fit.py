"""Fit a config to observed data: a point estimate (scipy.optimize), then the posterior (emcee).

The result is one xarray Dataset: posterior draws with dims ``(chain, draw)`` (each emcee walker is a chain),
the observed series on ``date``, and in ``attrs`` the fitted base config, the fit window and the convergence
diagnostics (R-hat, effective sample size, acceptance) with a loud ``converged`` flag.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..config import Config, load_config
from ..config.calibration import Calibration
from ..population import build_population
from ..results import output_folder, read_netcdf, write_netcdf
from .likelihood import expected_series, log_likelihood, needed_variables
from .model import Parameters, base_config, knot_dates, simulate_draws
from .observed import check_window, read_observed

__all__ = ["FitProblem", "fit", "fitted_config", "posterior_values", "read_fit", "summary", "write_fit"]

RHAT_MAX = 1.1
MIN_DAYS_AFTER_CHANGE = 7
ESS_MIN = 50.0


class FitProblem:
    """The pieces of one fit: base config, parameters, observed arrays, and the log posterior."""

    def __init__(self, config: Config, observed: pd.DataFrame, until: dt.date | None = None):
        cal = config.calibration or Calibration()
        self.calibration = cal
        start = config.scenario.start_date
        last = observed.index.max().date()
        self.fit_from = max(cal.fit_from or start, start)
        self.fit_until = min(until or cal.fit_until or last, last)
        check_window(observed, cal.series, self.fit_from, self.fit_until)
        # A fixed change date needs a week of data after it to be estimated; later ones are the forecast's
        # business (Rt and the reporting share are carried forward from the last period). Regular knots of a
        # random walk run up to the last date: the prior links the last ones to the data before them.
        known = self.fit_until - dt.timedelta(days=MIN_DAYS_AFTER_CHANGE)
        cal = cal.model_copy(
            update={
                "rt_change_dates": tuple(d for d in cal.rt_change_dates if start < d <= known),
                "ascertainment_change_dates": tuple(d for d in cal.ascertainment_change_dates if d <= known),
            }
        )
        knots = knot_dates(cal, start, self.fit_until)
        self.calibration = cal
        self.config = base_config(config.model_copy(update={"calibration": cal}), self.fit_until, knots)
        self.params = Parameters.of(cal, len(knots))
        self.population = float(build_population(self.config.population).total)
        dates = pd.date_range(start, self.fit_until, freq="D")
        frame = observed.reindex(dates)
        frame.loc[: pd.Timestamp(self.fit_from) - pd.Timedelta(days=1)] = np.nan  # before the window
        self.first = (self.fit_from - start).days  # weeks count from fit_from
        self.observed = {s: frame[s].to_numpy(dtype=float)[self.first :] for s in cal.series}
        self.runs = 0

    def expected(self, values: np.ndarray) -> tuple[dict[str, np.ndarray], xr.Dataset]:
        """Return the expected observed series in the fit window for natural ``values`` (K, n_params)."""
        values = np.atleast_2d(values)
        ds = simulate_draws(
            self.config, self.params.draws(self.config, values), variables=needed_variables(self.calibration.series)
        )
        self.runs += values.shape[0]
        self.run_attrs = {k: ds.attrs[k] for k in ("engine", "population_total", "start_date", "version", "area_name")}
        full = expected_series(ds, self.calibration.series, self.params, values, self.config)
        return {s: v[:, self.first :] for s, v in full.items()}, ds

    def log_posterior(self, theta: np.ndarray) -> np.ndarray:
        """Log prior + log likelihood for transformed ``theta`` (K, n_params); -inf where the model refuses."""
        theta = np.atleast_2d(theta)
        lp = self.params.log_prior(theta)
        values = self.params.natural(theta)
        ok = np.isfinite(lp) & np.all(np.isfinite(values), axis=1)
        ok &= self.params.get(values, "rt_start")[:, 0] <= 30  # the config's own limits
        ok &= np.all(self.params.get(values, "rt_change") <= 5, axis=1)
        ok &= self.params.get(values, "initial_infections")[:, 0] <= self.population  # walkers may wander far
        out = np.full(theta.shape[0], -np.inf)
        if ok.any():
            expected, _ = self.expected(values[ok])
            disp = {s: self.params.get(values[ok], f"dispersion_{s}")[:, 0] for s in self.calibration.series}
            out[ok] = lp[ok] + log_likelihood(expected, self.observed, disp, self.calibration.weekly)
        return np.where(np.isfinite(out), out, -np.inf)


@dataclass
class _Timer:
    start: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _optimise(problem: FitProblem, evaluations: int, progress: bool = False) -> np.ndarray:
    """Return the posterior mode on the transformed scale (L-BFGS-B, at most about ``evaluations`` model runs).

    The gradient is a forward difference whose ``n + 1`` points are one batched model call, so a step costs
    about as much as one walker set; the deterministic model makes finite differences reliable.
    """
    from scipy.optimize import minimize

    x0 = problem.params.prior_mean.copy()
    n = len(x0)
    if evaluations == 0:
        return x0
    from tqdm import tqdm

    bar = tqdm(total=evaluations, disable=not progress, desc="point estimate", unit="run")
    h = 1e-4

    def cost(x: np.ndarray) -> tuple[float, np.ndarray]:
        bar.update(n + 1)
        lp = problem.log_posterior(np.vstack([x, x + h * np.eye(n)]))
        if not np.isfinite(lp[0]):
            return 1e12, -np.sign(x - x0)  # outside the model's limits: back towards the prior
        grad = np.where(np.isfinite(lp[1:]), (lp[1:] - lp[0]) / h, -1e6)
        return -float(lp[0]), -grad

    res = minimize(cost, x0, jac=True, method="L-BFGS-B", options={"maxfun": max(evaluations // (n + 1), 2)})
    bar.close()
    return res.x


def _laplace(problem: FitProblem, mode: np.ndarray) -> np.ndarray:
    """Covariance of the normal approximation at ``mode``: the inverse Hessian by central differences.

    One batched call of ``2 n^2 + 1`` runs. Walkers start from it, inside the posterior's bulk, so emcee
    needs far less warm-up than from a small ball. Falls back to a tenth of the prior sd when the Hessian is
    not positive definite; variances are capped at the prior's.
    """
    n, h = len(mode), 1e-3
    e = h * np.eye(n)
    points = [mode]
    for i in range(n):
        for j in range(n):
            points += [mode + e[i] + e[j], mode + e[i] - e[j], mode - e[i] + e[j], mode - e[i] - e[j]]
    lp = problem.log_posterior(np.array(points))
    f = lp[1:].reshape(n, n, 4)
    hess = -(f[..., 0] - f[..., 1] - f[..., 2] + f[..., 3]) / (4 * h * h)
    hess = (hess + hess.T) / 2
    prior_var = problem.params.prior_sd**2
    fallback = np.diag((0.1 * problem.params.prior_sd) ** 2)
    if not np.all(np.isfinite(hess)):
        return fallback
    vals, vecs = np.linalg.eigh(hess)
    if np.any(vals <= 0):
        return fallback
    cov = (vecs / vals) @ vecs.T
    scale = np.sqrt(np.minimum(np.diag(cov), prior_var) / np.diag(cov))
    return cov * np.outer(scale, scale)


def _diagnostics(post: xr.Dataset) -> dict[str, float]:
    import arviz as az

    rhat = az.rhat(post)
    ess = az.ess(post)
    return {
        "r_hat_max": float(max(float(rhat[v]) for v in rhat.data_vars)),
        "ess_bulk_min": float(min(float(ess[v]) for v in ess.data_vars)),
    }


def fit(
    config: Config | str | Path,
    data: pd.DataFrame | str | Path,
    *,
    area: str | None = None,
    until: dt.date | None = None,
    to_2025: bool = False,
    progress: bool = False,
) -> xr.Dataset:
    """Fit a config's ``[calibration]`` parameters to observed data.

    Parameters
    ----------
    config : Config or path
        What-if config with a ``[calibration]`` section (defaults are used when it has none).
    data : DataFrame or path
        Observed series, as returned by :func:`read_observed`, or the CSV to read.
    area : str, optional
        Area to read from a CSV holding several.
    until : date, optional
        Last date used (a cutoff); later data are ignored.
    to_2025 : bool
        Read ``area`` as a 2025 province and sum the old provinces merged into it.
    progress : bool
        Show progress bars (tqdm) while sampling.

    Returns
    -------
    xarray.Dataset
        Variables: each parameter with dims ``(chain, draw)`` on its natural scale, ``log_posterior``,
        and ``observed_<series>`` on ``date``. ``attrs``: ``config_json`` (fitted base config), ``fit_from``,
        ``fit_until``, ``area``, ``r_hat_max``, ``ess_bulk_min``, ``acceptance``, ``converged`` (0/1),
        ``convergence_note``, ``model_runs``, ``wall_seconds``, ``map_json``.

    Warns
    -----
    RuntimeWarning
        When the sampler has not converged (R-hat above 1.1 or bulk ESS below 50).
    """
    import emcee

    if not isinstance(config, Config):
        config = load_config(config)
    observed = data if isinstance(data, pd.DataFrame) else read_observed(data, area, to_2025=to_2025)
    timer = _Timer()
    problem = FitProblem(config, observed, until)
    cal, params = problem.calibration, problem.params
    best = _optimise(problem, cal.sampler.optimizer_evaluations, progress)

    n_par = len(params.names)
    walkers = max(cal.sampler.walkers, 2 * n_par + 2)  # emcee's moves need at least twice the parameters
    walkers += walkers % 2
    rng = np.random.default_rng(cal.sampler.seed)
    start = rng.multivariate_normal(best, _laplace(problem, best), size=walkers)
    # Differential-evolution moves mix far better than the default stretch move beyond ~10 parameters (a
    # random walk on log Rt has one per knot); the mixture is the one emcee's documentation shows.
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, n_par, problem.log_posterior, vectorize=True, moves=moves)
    sampler.random_state = np.random.RandomState(cal.sampler.seed).get_state()  # emcee's own API wants one
    sampler.run_mcmc(start, cal.sampler.steps, progress=progress)
    chain = sampler.get_chain(discard=cal.sampler.burn)  # (draw, walker, param)
    logp = sampler.get_log_prob(discard=cal.sampler.burn)

    natural = params.natural(chain)
    post = xr.Dataset(
        {name: (("chain", "draw"), natural[:, :, i].T) for i, name in enumerate(params.names)},
        coords={"chain": np.arange(walkers), "draw": np.arange(chain.shape[0])},
    )
    diag = _diagnostics(post)
    acceptance = float(np.mean(sampler.acceptance_fraction))
    converged = diag["r_hat_max"] <= RHAT_MAX and diag["ess_bulk_min"] >= ESS_MIN
    note = (
        "converged"
        if converged
        else f"NOT CONVERGED: R-hat max {diag['r_hat_max']:.2f} (want <= {RHAT_MAX}), bulk ESS min "
        f"{diag['ess_bulk_min']:.0f} (want >= {ESS_MIN:.0f}); run more steps before quoting dates"
    )
    if not converged:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    post["log_posterior"] = (("chain", "draw"), logp.T)
    dates = observed.index[(observed.index >= pd.Timestamp(problem.fit_from))]
    obs = observed.loc[dates]
    for s in observed.columns:
        post[f"observed_{s}"] = xr.DataArray(obs[s].to_numpy(dtype=float), dims="date", coords={"date": dates.values})
    for name in params.names:
        post[name].attrs = {"units": "1", "long_name": name.replace("_", " ")}
    post.attrs = {
        "title": f"scenarios fit: {config.scenario.name}",
        **problem.run_attrs,  # engine, population, start date, version: what read_netcdf checks for
        "config_json": problem.config.model_dump_json(),
        "area": observed.attrs.get("area", ""),
        "source": observed.attrs.get("source", ""),
        "fit_from": problem.fit_from.isoformat(),
        "fit_until": problem.fit_until.isoformat(),
        "series": ",".join(cal.series),
        "parameters": ",".join(params.names),
        "map_json": json.dumps(dict(zip(params.names, params.natural(best).tolist(), strict=True))),
        "acceptance": acceptance,
        **diag,
        "converged": int(converged),
        "convergence_note": note,
        "model_runs": problem.runs,
        "wall_seconds": round(timer.seconds(), 1),
    }
    return post


def fitted_config(post: xr.Dataset) -> Config:
    """Return the fixed base config a fit ran on (the draws are numbers on top of it)."""
    return Config.model_validate_json(post.attrs["config_json"])


def posterior_values(post: xr.Dataset, n: int | None = None, seed: int = 0) -> np.ndarray:
    """Natural parameter values (n, n_params) drawn from the posterior (all draws when ``n`` is None)."""
    names = post.attrs["parameters"].split(",")
    flat = np.stack([post[name].values.ravel() for name in names], axis=-1)
    if n is None or n >= len(flat):
        return flat
    return flat[np.random.default_rng(seed).choice(len(flat), n, replace=False)]


def summary(post: xr.Dataset) -> pd.DataFrame:
    """Posterior mean, sd, 5/50/95% quantiles, R-hat and bulk ESS of each parameter."""
    import arviz as az

    names = post.attrs["parameters"].split(",")
    sub = post[names]
    rhat, ess = az.rhat(sub), az.ess(sub)
    rows = []
    for n in names:
        v = sub[n].values.ravel()
        q = np.quantile(v, [0.05, 0.5, 0.95])
        rows.append(
            {
                "parameter": n,
                "mean": v.mean(),
                "sd": v.std(),
                "q05": q[0],
                "q50": q[1],
                "q95": q[2],
                "r_hat": float(rhat[n]),
                "ess_bulk": float(ess[n]),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs = {k: post.attrs[k] for k in ("acceptance", "converged", "convergence_note", "model_runs")}
    return out


FIT_OUTPUTS = {"fit.nc", "summary.csv", "forecast"}


def write_fit(post: xr.Dataset, out: str | Path) -> Path:
    """Write ``fit.nc`` and ``summary.csv`` into ``out``, all or nothing (see :func:`results.output_folder`)."""
    with output_folder(out, FIT_OUTPUTS) as tmp:
        write_netcdf(post, tmp / "fit.nc")
        summary(post).to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
    return Path(out)


def read_fit(folder: str | Path) -> xr.Dataset:
    """Read a fit written by :func:`write_fit` (the folder or its ``fit.nc``)."""
    path = Path(folder)
    return read_netcdf(path / "fit.nc" if path.is_dir() else path)
