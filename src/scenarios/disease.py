"""Natural history, variants, immunity strata and severity: what both engines share.

Immunity strata (the ``stratum`` axis)
--------------------------------------
``naive``, ``dose2`` (primary series), ``dose3`` (booster), ``infected_resident`` (recovered from the
resident variant, including infections before day 0), ``infected_new`` (recovered from the new variant) and
``waned``. Protection against infection with variant ``v`` multiplies the force of infection by
``susceptibility[v, s] = 1 - VE``; the new variant escapes a share of every protection except that from
having had the new variant itself. Protection against severe disease among the infected is
``1 - (1 - VE_severe) / (1 - VE_infection)``, so that the *total* protection is the configured VE_severe.
Vaccinated strata wane to ``waned`` at rate ``1 / waning_days``, previously infected ones at
``1 / waning_days_infection`` (protection from infection lasts longer); people who recover from variant ``v`` enter
``infected_<v>``.

Transmission
------------
Force of infection on a person of band ``a``: ``lambda_v[a] = beta_v * sum_b C[a, b] * I_v[b] / N[b]``.
The next-generation matrix of the resident variant is ``K[a, b] = beta * D * C[a, b] * N[a] / N[b] * s[a]``
with ``D`` the mean infectious period and ``s[a]`` the mean susceptibility of band ``a``; ``beta`` is chosen so
that its spectral radius equals R0 (everyone naive, baseline contacts) or Rt on day 0 (strata and
interventions of day 0), as the config asks.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .config import Config, ConfigError, Reporting
from .config.health import Duration
from .population import Population

__all__ = [
    "STRATA",
    "Disease",
    "build_disease",
    "day_kernel",
    "next_generation_matrix",
    "reporting_delay_weights",
    "spectral_radius",
    "split_severity",
]

STRATA: tuple[str, ...] = ("naive", "dose2", "dose3", "infected_resident", "infected_new", "waned")
NAIVE, DOSE2, DOSE3, INF_RES, INF_NEW, WANED = range(len(STRATA))


@dataclass(frozen=True)
class Disease:
    """Everything about the pathogen and immunity that an engine needs, as arrays.

    Attributes
    ----------
    variants : tuple of str
        Variant labels; index 0 is the resident variant, 1 (if present) the new one.
    beta : ndarray, shape (n_variant,)
        Transmission rate per contact per day.
    susceptibility : ndarray, shape (n_variant, n_stratum)
        Relative risk of infection per exposure, ``1 - VE_infection``.
    p_severe, p_critical : ndarray, shape (n_variant, n_stratum, n_age)
        Probability per infection of needing oxygen only (tier 2) / ICU (tier 3).
    latent_days, infectious_days : float
        Mean durations; ``latent_stages``/``infectious_stages`` are their Erlang shapes.
    waning_per_day : ndarray, shape (n_stratum, 1)
        Rate at which each stratum moves to ``waned`` (0 where it does not wane): vaccine protection at
        ``1 / waning_days``, protection from a past infection at ``1 / waning_days_infection``.
    wanes : ndarray of bool, shape (n_stratum,)
        Strata that wane.
    boostable : ndarray of bool, shape (n_stratum,)
        Strata a booster dose moves to ``dose3``.
    recovered_to : ndarray of int, shape (n_variant,)
        Stratum entered on recovery from each variant.
    initial_strata : ndarray, shape (n_stratum, n_age)
        People in each stratum on day 0.
    """

    variants: tuple[str, ...]
    beta: np.ndarray
    susceptibility: np.ndarray
    p_severe: np.ndarray
    p_critical: np.ndarray
    latent_days: float
    latent_stages: int
    infectious_days: float
    infectious_stages: int
    waning_per_day: np.ndarray
    wanes: np.ndarray
    boostable: np.ndarray
    recovered_to: np.ndarray
    initial_strata: np.ndarray

    @property
    def strata(self) -> tuple[str, ...]:
        """Labels of the immunity strata."""
        return STRATA


def _initial_strata(cfg: Config, sizes: np.ndarray) -> np.ndarray:
    """Return people by stratum on day 0.

    Boosted -> dose3; else previously infected -> infected_resident; else two doses -> dose2 (prior
    infection independent of a primary series); the rest naive. Then the configured share of every
    protected stratum starts in ``waned``.
    """
    im = cfg.immunity
    d2, d3, prior = (
        np.array(x) for x in (im.coverage_dose2_by_age, im.coverage_dose3_by_age, im.prior_infection_by_age)
    )
    unboosted = np.maximum(1 - d3, 1e-12)
    shares = np.zeros((len(STRATA), len(sizes)))
    shares[DOSE3] = d3
    shares[INF_RES] = prior
    shares[DOSE2] = np.maximum((d2 - d3) * (1 - prior / unboosted), 0)
    shares[NAIVE] = 1 - shares.sum(axis=0)
    waned = shares[[DOSE2, DOSE3, INF_RES]] * im.initial_waned_share
    shares[[DOSE2, DOSE3, INF_RES]] -= waned
    shares[WANED] = waned.sum(axis=0)
    return shares * sizes


def _protections(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Total VE against infection and against severe disease, shape (n_variant, n_stratum)."""
    im = cfg.immunity
    ve_inf = np.array(
        [
            0,
            im.ve_infection_dose2,
            im.ve_infection_dose3,
            im.ve_infection_prior,
            im.ve_infection_prior,
            im.ve_infection_waned,
        ]
    )
    ve_sev = np.array(
        [
            0,
            im.ve_severe_dose2,
            im.ve_severe_dose3,
            im.ve_severe_prior,
            im.ve_severe_prior,
            im.ve_severe_waned,
        ]
    )
    inf, sev = [ve_inf], [ve_sev]
    new = cfg.variants.new
    if new is not None:
        # Against the resident variant, immunity from the new one protects like any prior infection.
        escaped = np.array([s != INF_NEW for s in range(len(STRATA))])
        inf.append(np.where(escaped, ve_inf * (1 - new.immune_escape), ve_inf))
        sev.append(np.where(escaped, ve_sev * (1 - new.severe_escape), ve_sev))
    return np.array(inf), np.maximum(np.array(sev), np.array(inf))


def next_generation_matrix(
    population: Population,
    beta: float,
    infectious_days: float,
    susceptible: np.ndarray,
    multipliers: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Next-generation matrix ``K[a, b]``: infections in band ``a`` caused by one infection in band ``b``.

    Parameters
    ----------
    population : Population
        Sizes and contact matrices.
    beta : float
        Transmission rate per contact per day.
    infectious_days : float
        Mean infectious period.
    susceptible : ndarray, shape (n_age,)
        Susceptibility-weighted number of people by band (``N[a]`` when everyone is naive).
    multipliers : mapping, optional
        Contact multipliers by setting.
    """
    c = population.contact_matrix(multipliers)
    n = population.sizes[None, :]
    # An empty band infects no one (and is infected by no one: its susceptible count is 0).
    return np.divide(beta * infectious_days * c * susceptible[:, None], n, out=np.zeros_like(c), where=n > 0)


def spectral_radius(k: np.ndarray) -> float:
    """Largest absolute eigenvalue (R0 of a next-generation matrix)."""
    return float(np.max(np.abs(np.linalg.eigvals(k))))


def build_disease(cfg: Config, population: Population, day0_multipliers: Mapping[str, float]) -> Disease:
    """Turn a config into engine-ready arrays, with ``beta`` set from R0 or Rt through the NGM."""
    d, res, new = cfg.disease, cfg.variants.resident, cfg.variants.new
    ve_inf, ve_sev = _protections(cfg)
    susceptibility = 1 - ve_inf
    with np.errstate(divide="ignore", invalid="ignore"):
        severe_given_inf = np.where(susceptibility > 0, 1 - (1 - ve_sev) / susceptibility, 0.0)
    keep = np.clip(1 - severe_given_inf, 0, 1)  # (n_variant, n_stratum)
    multiplier = np.array([1.0] + ([new.severity_multiplier] if new else []))
    p_sev = np.array(d.p_severe_by_age)[None, None, :] * (multiplier[:, None] * keep)[:, :, None]
    p_crit = np.array(d.p_critical_by_age)[None, None, :] * (multiplier[:, None] * keep)[:, :, None]
    total = p_sev + p_crit
    scale = np.where(total > 1, 1 / np.maximum(total, 1e-300), 1.0)  # a multiplier cannot push risk past 1

    strata0 = _initial_strata(cfg, population.sizes)
    if res.r0 is not None:
        target, susceptible, mult = res.r0, population.sizes, None
    else:
        target, susceptible, mult = res.rt_start, susceptibility[0] @ strata0, day0_multipliers
    unit = spectral_radius(next_generation_matrix(population, 1.0, d.infectious_days, susceptible, mult))
    if not unit > 0:
        where = cfg.provenance.get("config_path") or "config"
        raise ConfigError(
            [
                f"{where}: variants.resident.{'r0' if res.r0 is not None else 'rt_start'}: cannot be reached: "
                "on day 0 no one can be infected (every contact is 0 or no one is susceptible); "
                "give r0 (contacts at baseline, everyone susceptible) or change the day-0 interventions"
            ]
        )
    beta_res = target / unit
    beta = np.array([beta_res] + ([beta_res * new.transmissibility_multiplier] if new else []))

    im = cfg.immunity
    days = [im.waning_days if s in (DOSE2, DOSE3) else im.waning_days_infection for s in range(len(STRATA))]
    wanes = np.array([s in (DOSE2, DOSE3, INF_RES, INF_NEW) for s in range(len(STRATA))])
    waning_per_day = np.array([1 / d if w and d else 0.0 for d, w in zip(days, wanes, strict=True)])[:, None]
    return Disease(
        variants=(res.name,) + ((new.name,) if new else ()),
        beta=beta,
        susceptibility=susceptibility,
        p_severe=p_sev * scale,
        p_critical=p_crit * scale,
        latent_days=d.latent_days,
        latent_stages=d.latent_stages,
        infectious_days=d.infectious_days,
        infectious_stages=d.infectious_stages,
        waning_per_day=waning_per_day,
        wanes=wanes,
        boostable=np.array([s in (NAIVE, DOSE2, WANED) for s in range(len(STRATA))]),
        recovered_to=np.array([INF_RES, INF_NEW][: len(beta)]),
        initial_strata=strata0,
    )


def split_severity(
    onsets: np.ndarray, disease: Disease, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split onsets into mild, severe (oxygen) and critical (ICU), summed to shape (n_age,).

    Parameters
    ----------
    onsets : ndarray, shape (n_variant, n_stratum, n_age)
        New onsets of the day, by the variant and the immunity stratum at infection.
    disease : Disease
        Severity probabilities.
    rng : Generator, optional
        With a generator, each person's outcome is drawn (integer onsets, as the agent-based engine
        gives); without, expected values are returned (the compartmental engine).
    """
    if rng is None:
        severe = onsets * disease.p_severe
        critical = onsets * disease.p_critical
    else:
        n = np.rint(onsets).astype(np.int64)
        p = np.stack([disease.p_severe, disease.p_critical, 1 - disease.p_severe - disease.p_critical], -1)
        draws = rng.multinomial(n, np.clip(p, 0, 1))
        severe, critical = draws[..., 0], draws[..., 1]
        onsets = n
    # Sum over variant and stratum (the last axes but age), so leading member axes pass through.
    severe, critical = severe.sum(axis=(-3, -2)), critical.sum(axis=(-3, -2))
    return onsets.sum(axis=(-3, -2)) - severe - critical, severe, critical


def day_kernel(duration: Duration, minimum: int = 0, tail: float = 1e-12, max_days: int = 400) -> np.ndarray:
    """Probability that a duration lasts ``minimum + k`` whole days, ``k = 0, 1, ...``.

    The duration is ``minimum + Y`` with ``Y`` gamma-distributed (mean ``mean_days - minimum``, standard
    deviation ``duration.sd``), discretised with triangular weights (``P(k) = E[max(0, 1 - |Y - k|)]``), which
    keeps the mean exactly. A standard deviation of 0 (or a mean at or below ``minimum``) gives a fixed
    duration split between the two nearest days (at least ``minimum``).

    Parameters
    ----------
    duration : Duration
        Mean and standard deviation in days.
    minimum : int
        Shortest duration in days (1 for stays, 0 for delays).
    tail : float
        Share of the probability, and of the mean, beyond the last day that may be cut off (the kernel
        is renormalised).
    max_days : int
        Longest kernel.

    Returns
    -------
    ndarray, shape (n,)
        Non-negative weights summing to 1.

    Examples
    --------
    >>> from scenarios.config.health import Duration
    >>> k = day_kernel(Duration(mean_days=9, sd_days=6.364), minimum=1)
    >>> round(float(k @ (1 + np.arange(len(k)))), 6)
    9.0
    >>> day_kernel(Duration(mean_days=2.25, sd_days=0)).tolist()
    [0.0, 0.0, 0.75, 0.25]
    """
    return _day_kernel(float(duration.mean_days), float(duration.sd), minimum, tail, max_days).copy()


@functools.lru_cache(maxsize=1024)
def _day_kernel(mean_days: float, sd: float, minimum: int, tail: float, max_days: int) -> np.ndarray:
    """:func:`day_kernel` by value, cached: a run asks for the same dozen kernels, each costing scipy calls."""
    mean = max(mean_days - minimum, 0.0)
    # Below these a gamma is a point mass to within rounding (and its shape would overflow).
    if mean < 1e-9 or sd < 1e-6 * mean:
        lo = int(np.floor(mean))
        w = np.zeros(lo + 2)
        w[lo], w[lo + 1] = 1 - (mean - lo), mean - lo
        return np.trim_zeros(w, "b")
    shape, scale = (mean / sd) ** 2, sd**2 / mean
    # Cut where the tail holds a share `tail` of the mean (size-biased gamma), not only of the probability.
    last = int(min(max_days, np.ceil(stats.gamma.ppf(1 - tail, shape + 1, scale=scale)) + 2))
    j = np.arange(last + 1, dtype=float)
    cdf = lambda x: stats.gamma.cdf(x, shape, scale=scale)  # noqa: E731
    part = lambda x: mean * stats.gamma.cdf(x, shape + 1, scale=scale)  # E[Y; Y <= x]  # noqa: E731
    w = (
        (part(j) - part(j - 1))
        - (j - 1) * (cdf(j) - cdf(j - 1))
        + (j + 1) * (cdf(j + 1) - cdf(j))
        - (part(j + 1) - part(j))
    )
    w = np.clip(w, 0, None)
    return w / w.sum()


def reporting_delay_weights(cfg: Reporting, max_days: int = 3650) -> np.ndarray:
    """Probability that a report comes ``d`` days after onset, ``d = 0, 1, ...`` (at most ``max_days``).

    The delay is gamma-distributed and discretised as the care module's delays (:func:`day_kernel`): the
    configured mean is kept exactly and the weights change continuously with the standard deviation (0
    gives a fixed delay, split between the two nearest days). Delays past ``max_days`` (ten years) are
    cut off.

    Examples
    --------
    >>> from scenarios.config import Reporting
    >>> w = reporting_delay_weights(Reporting(delay_mean_days=2.0, delay_sd_days=1.0))
    >>> round(float(w @ np.arange(len(w))), 9)
    2.0
    """
    return day_kernel(Duration(mean_days=cfg.delay_mean_days, sd_days=cfg.delay_sd_days), max_days=max_days)
