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
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from ..config import Config, load_config
from ..config.calibration import Calibration, Sampler
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
        # A change of Rt or of the reporting share needs a week of data after it to be estimated: an infection
        # shows in the reports about a week later (latent period, then the reporting delay), so the data say
        # next to nothing of Rt in the last week. Later changes are the forecast's: fixed dates carry Rt and
        # the reporting share forward; a random walk's later knots take the forecast's damped steps, so the
        # growth of the weeks before is not carried, unseen, into the first forecast week.
        known = self.fit_until - dt.timedelta(days=MIN_DAYS_AFTER_CHANGE)
        cal = cal.model_copy(
            update={
                "rt_change_dates": tuple(d for d in cal.rt_change_dates if start < d <= known),
                "ascertainment_change_dates": tuple(d for d in cal.ascertainment_change_dates if d <= known),
            }
        )
        knots = knot_dates(cal, start, known)
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

    def log_posterior(self, x: np.ndarray) -> np.ndarray:
        """Log prior + log likelihood at sampler coordinates ``x`` (K, n_params); -inf where the model refuses."""
        theta = self.theta(np.atleast_2d(x))
        with np.errstate(invalid="ignore"):  # NaN where a share would exceed 1
            lp = self.params.log_prior(theta) + self.log_jacobian(np.atleast_2d(x))
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

    # Sampler coordinates. Reported cases identify the product of each period's ascertainment and the
    # infections far better than either: on the priors' scales (logit share, log infections) the posterior
    # is a thin curved ridge that no sampler crosses quickly. The sampler therefore moves
    # log(share_1 x initial infections), the initial *reported* scale, in place of log initial infections,
    # and log(share_k / share_1), the change of reporting, in place of logit share_k for later periods;
    # every other coordinate is the prior's own. The prior stays the configured one (plus the Jacobian).
    def _ridge(self) -> tuple[int, int, list[int]] | None:
        names = self.params.names
        if "ascertainment_1" not in names:
            return None
        later = [k for k, n in enumerate(names) if n.startswith("ascertainment_") and n != "ascertainment_1"]
        return names.index("initial_infections"), names.index("ascertainment_1"), later

    def theta(self, x: np.ndarray) -> np.ndarray:
        """Parameters on the priors' (transformed) scale from sampler coordinates ``x`` (..., n_params).

        A later period's share above 1 has no parameters: its entries are NaN.
        """
        theta = np.array(x, dtype=float)
        if (ridge := self._ridge()) is not None:
            i, j, later = ridge
            log_share = -np.logaddexp(0.0, -theta[..., j])
            theta[..., i] = theta[..., i] - log_share
            with np.errstate(invalid="ignore", divide="ignore"):
                for k in later:
                    log_k = np.where(theta[..., k] + log_share < 0, theta[..., k] + log_share, np.nan)
                    theta[..., k] = log_k - np.log(-np.expm1(log_k))
        return theta

    def coordinates(self, theta: np.ndarray) -> np.ndarray:
        """Sampler coordinates from parameters on the priors' scale (inverse of :meth:`theta`)."""
        x = np.array(theta, dtype=float)
        if (ridge := self._ridge()) is not None:
            i, j, later = ridge
            log_share = -np.logaddexp(0.0, -x[..., j])
            x[..., i] = x[..., i] + log_share
            for k in later:
                x[..., k] = -np.logaddexp(0.0, -x[..., k]) - log_share
        return x

    def log_jacobian(self, x: np.ndarray) -> np.ndarray:
        """Log |d theta / d x| of :meth:`theta`: 1 / (1 - share_k) for each later period (the rest is 1)."""
        theta = self.theta(x)
        out = np.zeros(theta.shape[:-1])
        if (ridge := self._ridge()) is not None:
            for k in ridge[2]:
                out = out + np.logaddexp(0.0, theta[..., k])  # -log(1 - share) = log(1 + exp(logit share))
        return out

    def prior_sd(self) -> np.ndarray:
        """Prior sd of each sampler coordinate (linearised at the prior medians)."""
        sd = self.params.prior_sd.copy()
        if (ridge := self._ridge()) is not None:
            i, j, later = ridge
            share = expit(self.params.prior_mean)
            sd[i] = np.hypot(sd[i], (1 - share[j]) * sd[j])
            for k in later:
                sd[k] = np.hypot((1 - share[k]) * sd[k], (1 - share[j]) * sd[j])
        return sd


@dataclass
class _Timer:
    start: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _optimise(problem: FitProblem, evaluations: int, progress: bool = False) -> np.ndarray:
    """Return the posterior mode in sampler coordinates (L-BFGS-B, at most about ``evaluations`` model runs).

    The gradient is a forward difference whose ``n + 1`` points are one batched model call, so a step costs
    about as much as one walker set; the deterministic model makes finite differences reliable.
    """
    from scipy.optimize import minimize

    x0 = problem.coordinates(problem.params.prior_mean)
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
    prior_var = problem.prior_sd() ** 2
    fallback = np.diag(0.01 * prior_var)
    if not np.all(np.isfinite(hess)):
        return fallback
    vals, vecs = np.linalg.eigh(hess)
    if np.any(vals <= 0):
        return fallback
    cov = (vecs / vals) @ vecs.T
    scale = np.sqrt(np.minimum(np.diag(cov), prior_var) / np.diag(cov))
    return cov * np.outer(scale, scale)


def _start(problem: FitProblem, best: np.ndarray, cov: np.ndarray, walkers: int, rng: np.random.Generator) -> Any:
    """Walkers' first states (an ``emcee.State`` with their log posterior): draws from the Laplace approximation.

    A draw where the model has no posterior (e.g. a later reporting share above 1) is redrawn, up to ten
    times, then replaced by the point estimate: a walker at -inf would give emcee NaN acceptance ratios.
    """
    import emcee

    start = rng.multivariate_normal(best, cov, size=walkers)
    lp = problem.log_posterior(start)
    for _ in range(10):
        bad = ~np.isfinite(lp)
        if not bad.any():
            break
        start[bad] = rng.multivariate_normal(best, cov, size=int(bad.sum()))
        lp[bad] = problem.log_posterior(start[bad])
    if (bad := ~np.isfinite(lp)).any():
        start[bad], lp[bad] = best, problem.log_posterior(best[None])[0]
    return emcee.State(start, log_prob=lp)


def _sample(
    problem: FitProblem, start: Any, cov: np.ndarray, settings: Sampler, progress: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run emcee from ``start`` (an ``emcee.State``): two warm-up windows that adapt the proposals, then the kept steps.

    Every walker is its own Metropolis-Hastings chain (proposals never look at other walkers), so R-hat
    across walkers compares genuinely independent chains; the whole walker set is one batched model call a
    step. Each step is, at random, one of two moves: a random walk (``emcee.moves.GaussianMove``, covariance
    ``2.38**2 / n`` times the posterior's: the optimal scaling of Roberts, Gelman & Gilks 1997) or an
    independence proposal from a multivariate t around the posterior mean (:class:`_IndependentT`), which
    jumps across the whole posterior when it is near normal (a random walk needs ~3n steps per independent
    draw). The posterior's mean and covariance start from the Laplace approximation and are re-estimated
    from the second half of each warm-up window (as Stan's warm-up does), then frozen for the kept steps.

    Returns the kept chain (draw, walker, n) in sampler coordinates, its log posterior (draw, walker) and
    the kept steps' mean acceptance.
    """
    import emcee

    n = start.coords.shape[1]
    windows = [settings.burn // 2, settings.burn - settings.burn // 2, settings.steps - settings.burn]
    state = start
    mean = start.coords.mean(axis=0)
    for k, length in enumerate(windows):
        if length == 0:
            continue
        moves = [
            (emcee.moves.GaussianMove(cov * 2.38**2 / n), 0.5),
            (emcee.moves.MHMove(_IndependentT(mean, cov)), 0.5),
        ]
        sampler = emcee.EnsembleSampler(len(start.coords), n, problem.log_posterior, vectorize=True, moves=moves)
        sampler.random_state = np.random.RandomState([settings.seed, k]).get_state()  # emcee's API wants one
        # Walkers are separate chains, so fewer walkers than parameters is fine: emcee's check of the ensemble's
        # spread (meant for its ensemble moves) does not apply.
        state = sampler.run_mcmc(state, length, progress=progress, skip_initial_state_check=True)
        if k < 2:
            kept = sampler.get_chain(discard=length // 2).reshape(-1, n)
            cov, mean = _adapted(kept, cov), kept.mean(axis=0)
    return sampler.get_chain(), sampler.get_log_prob(), float(np.mean(sampler.acceptance_fraction))


class _IndependentT:
    """Independence proposal for ``emcee.moves.MHMove``: a multivariate t around a fixed mean.

    Five degrees of freedom and 1.2 times the posterior's sd: tails heavier than the posterior's (normal
    priors on every coordinate) keep the chain uniformly ergodic (Mengersen & Tweedie 1996). The returned
    log ratio ``log g(x) - log g(x')`` makes the acceptance the Metropolis-Hastings one.
    """

    def __init__(self, mean: np.ndarray, cov: np.ndarray, df: float = 5.0, inflate: float = 1.2):
        self.mean, self.df = mean, df
        self.chol = np.linalg.cholesky(cov * inflate**2)
        self.precision = np.linalg.inv(cov * inflate**2)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        d = x - self.mean
        quad = np.einsum("ki,ij,kj->k", d, self.precision, d)
        return -(self.df + len(self.mean)) / 2 * np.log1p(quad / self.df)

    def __call__(self, x0: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal(x0.shape) @ self.chol.T
        x = self.mean + z * np.sqrt(self.df / rng.chisquare(self.df, size=(len(x0), 1)))
        return x, self.log_density(x0) - self.log_density(x)


def _adapted(samples: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Covariance of warm-up ``samples`` (m, n), regularised towards a small diagonal as Stan does."""
    m, n = samples.shape
    cov = np.cov(samples.T).reshape(n, n)
    cov = (m / (m + 5.0)) * cov + 1e-3 * (5.0 / (m + 5.0)) * np.eye(n)
    if not np.all(np.isfinite(cov)) or np.any(np.linalg.eigvalsh(cov) <= 0) or np.all(np.diag(cov) < 1e-8):
        return previous  # walkers stuck: keep the proposal they started from
    return cov


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
    if not isinstance(config, Config):
        config = load_config(config)
    observed = data if isinstance(data, pd.DataFrame) else read_observed(data, area, to_2025=to_2025)
    timer = _Timer()
    problem = FitProblem(config, observed, until)
    cal, params = problem.calibration, problem.params
    best = _optimise(problem, cal.sampler.optimizer_evaluations, progress)

    walkers = cal.sampler.walkers
    cov = _laplace(problem, best)
    start = _start(problem, best, cov, walkers, np.random.default_rng(cal.sampler.seed))
    chain, logp, acceptance = _sample(problem, start, cov, cal.sampler, progress)

    natural = params.natural(problem.theta(chain))
    post = xr.Dataset(
        {name: (("chain", "draw"), natural[:, :, i].T) for i, name in enumerate(params.names)},
        coords={"chain": np.arange(walkers), "draw": np.arange(chain.shape[0])},
    )
    diag = _diagnostics(post)
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
        "map_json": json.dumps(dict(zip(params.names, params.natural(problem.theta(best)).tolist(), strict=True))),
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
