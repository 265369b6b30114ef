"""Population of the modelled area: people by age band and who meets whom, by setting.

Contact matrices come from Prem et al. (2021) for Vietnam in 16 five-year bands (0-4 ... 75+). They are
brought to the 10-year bands of :data:`scenarios.config.AGE_GROUPS` through contact *intensities*
(contacts per person of band j), so they can be re-weighted to any area's age structure, and then made
reciprocal (contacts i->j equal contacts j->i in total), as the next-generation matrix needs.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .config import AGE_GROUPS, N_AGE, SETTINGS, find_province
from .config import Population as PopulationConfig

__all__ = ["Population", "build_population", "largest_remainder", "national_age_shares", "prem_contacts"]


def _data(name: str):
    return resources.files("scenarios") / "data" / "vietnam" / name


@cache
def _wpp_fine() -> np.ndarray:
    """WPP 2024 Vietnam 2020 population in 17 bands 0-4, ..., 75-79, 80+ (the fine bands used below)."""
    with _data("age_structure_wpp2024.csv").open(encoding="utf-8") as f:
        counts = np.array([float(row["population_2020"]) for row in csv.DictReader(f)])
    return np.concatenate([counts[:16], [counts[16:].sum()]])


# Fine band k (of 17) belongs to 10-year group k // 2, with 80+ alone as the last group.
_FINE_TO_GROUP = np.minimum(np.arange(17) // 2, N_AGE - 1)


def _coarsen(fine: np.ndarray) -> np.ndarray:
    return np.bincount(_FINE_TO_GROUP, weights=fine, minlength=N_AGE)


def national_age_shares() -> np.ndarray:
    """Share of Vietnam's 2020 population in each 10-year band (UN WPP 2024)."""
    groups = _coarsen(_wpp_fine())
    return groups / groups.sum()


@cache
def prem_contacts() -> dict[str, np.ndarray]:
    """Prem 2021 Vietnam contact matrices by setting, in 10-year bands, for the national population.

    Returns
    -------
    dict of str to ndarray, shape (9, 9)
        ``C[i, j]``: mean daily contacts a person in band ``i`` has with people in band ``j``.
    """
    ref = _wpp_fine()
    share_80 = ref[16] / (ref[15] + ref[16])
    out = {}
    for setting in SETTINGS:
        with _data(f"contacts_prem2021_{setting}.csv").open(encoding="utf-8") as f:
            m16 = np.loadtxt(f, delimiter=",", comments="#")
        # Split band 75+ into 75-79 and 80+: same behaviour per person, contacts shared by population.
        m17 = np.zeros((17, 17))
        m17[:16, :16] = m16
        m17[16, :16] = m16[15]
        m17[:, 15:] = m17[:, [15]] * np.array([1 - share_80, share_80])
        # Group rows by population-weighted mean, columns by sum.
        rows = np.zeros((N_AGE, 17))
        np.add.at(rows, _FINE_TO_GROUP, m17 * ref[:, None])
        rows /= _coarsen(ref)[:, None]
        grouped = np.zeros((N_AGE, N_AGE))
        np.add.at(grouped.T, _FINE_TO_GROUP, rows.T)
        out[setting] = grouped
    return out


@dataclass(frozen=True)
class Population:
    """People by age band and reciprocal contact matrices by setting.

    Attributes
    ----------
    name : str
        Display name (Vietnamese, with diacritics).
    province_code : str or None
        Code of the province (``VN91``) when the area is or lies in one.
    sizes : ndarray, shape (9,)
        People in each 10-year band: whole numbers summing exactly to the configured total.
    contacts : dict of str to ndarray, shape (9, 9)
        Mean daily contacts of a person in band ``i`` with people in band ``j``, by setting; reciprocal:
        ``sizes[i] * C[i, j] == sizes[j] * C[j, i]``.
    """

    name: str
    province_code: str | None
    sizes: np.ndarray
    contacts: Mapping[str, np.ndarray]

    @property
    def total(self) -> float:
        """Total population."""
        return float(self.sizes.sum())

    @property
    def age_groups(self) -> tuple[str, ...]:
        """Labels of the age bands."""
        return AGE_GROUPS

    def contact_matrix(self, multipliers: Mapping[str, float] | None = None) -> np.ndarray:
        """Sum over settings of ``multiplier[setting] * C[setting]`` (missing settings count 1)."""
        multipliers = multipliers or {}
        return sum(multipliers.get(s, 1.0) * c for s, c in self.contacts.items())


def largest_remainder(x: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative ``x`` to integers summing to ``total``, each within 1 of ``x * total / sum``.

    Examples
    --------
    >>> largest_remainder(np.array([0.2, 0.3, 0.5]), 7).tolist()
    [1, 2, 4]
    """
    x = np.asarray(x, dtype=float)
    if total <= 0 or x.sum() <= 0:
        return np.zeros(x.shape, dtype=np.int64)
    exact = x / x.sum() * total
    out = np.floor(exact).astype(np.int64)
    rest = total - out.sum()
    if rest > 0:
        out.flat[np.argsort(-(exact - out).ravel(), kind="stable")[:rest]] += 1
    return out


def _reciprocal(c: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    total = c * sizes[:, None]
    return (total + total.T) / 2 / sizes[:, None]


def build_population(cfg: PopulationConfig) -> Population:
    """Build the population of a config: size, age structure and contact matrices."""
    province = find_province(cfg.province) if cfg.province else None
    total = cfg.people
    shares = np.array(cfg.age_shares) if cfg.age_shares is not None else national_age_shares()
    # Whole people per band, so the configured total is kept exactly (rates per 100,000 tie exactly).
    sizes = largest_remainder(shares, int(total)).astype(float)
    shares = sizes / sizes.sum()
    name = cfg.name or (province.name_vi if province else "population")
    code = province.code if province else None
    if cfg.contacts == "homogeneous":
        # Mean daily contacts as in Prem's national matrix; R0 sets the transmission rate in any case.
        prem = prem_contacts()
        mean = sum(prem.values()).sum(axis=1) @ national_age_shares()
        community = np.tile(mean * shares, (N_AGE, 1))
        contacts = {s: (community if s == "community" else np.zeros((N_AGE, N_AGE))) for s in SETTINGS}
        return Population(name, code, sizes, contacts)
    ref = _coarsen(_wpp_fine())
    with np.errstate(invalid="ignore", divide="ignore"):
        contacts = {
            s: _reciprocal(np.nan_to_num(m / ref[None, :] * ref.sum() * shares[None, :]), np.maximum(sizes, 1e-300))
            for s, m in prem_contacts().items()
        }
    return Population(name, code, sizes, contacts)
