"""The daily interface every transmission engine implements.

The daily loop (:mod:`scenarios.simulate`) calls ``engine.step(inputs)`` once per simulated day. Inputs are
what the config and triggered policies decide for that day (contact multipliers by setting, imported
infections, booster doses); flows are what happened (infections and onsets by variant, immunity stratum and
age) plus the state at the end of the day. Care, reporting, indicators and policies work only on these, so
the engines differ only in how infection spreads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..config.base import Isolation

__all__ = ["DayInputs", "DayFlows", "Engine"]


@dataclass(frozen=True)
class DayInputs:
    """What acts on the epidemic during one day.

    Attributes
    ----------
    day : int
        Days since the start (0 = start date).
    contact_multipliers : mapping of str to float
        Multiplier on each setting's contacts (``home``, ``school``, ``work``, ``community``); 1 = baseline.
    imported : ndarray, shape (n_variant, n_age)
        Infections seeded today (initial infections on day 0, importations of the new variant); they infect
        residents, drawn from the susceptible, so the population is conserved.
    booster_doses : ndarray, shape (n_age,)
        Booster doses given today; each moves one person of a boostable stratum to ``dose3``.
    isolation : tuple of Isolation
        Case-isolation regimes in force today. ``contact_multipliers`` already include their mean-field
        effect (what the compartmental engine uses); an engine that isolates person by person divides it out.
    """

    day: int
    contact_multipliers: Mapping[str, float]
    imported: np.ndarray
    booster_doses: np.ndarray
    isolation: tuple[Isolation, ...] = ()


@dataclass(frozen=True)
class DayFlows:
    """What happened during one day, and the state at its end.

    Attributes
    ----------
    new_infections : ndarray, shape (n_variant, n_stratum, n_age)
        New infections (imported ones included), by the stratum the person was in when infected.
    new_onsets : ndarray, shape (n_variant, n_stratum, n_age)
        People who became infectious (symptom onset), by the stratum at infection.
    susceptible : ndarray, shape (n_stratum, n_age)
        People not currently infected, by immunity stratum, at the end of the day.
    exposed, infectious : ndarray, shape (n_variant, n_age)
        People in the latent / infectious stage at the end of the day.
    """

    new_infections: np.ndarray
    new_onsets: np.ndarray
    susceptible: np.ndarray
    exposed: np.ndarray
    infectious: np.ndarray


class Engine(Protocol):
    """A transmission model advanced one day at a time.

    ``stochastic`` tells the daily loop whether flows are whole people (draw severity and reporting
    for each) or expected values (use the expectations).
    """

    stochastic: bool

    def step(self, inputs: DayInputs) -> DayFlows:
        """Advance one day under ``inputs`` and return the day's flows."""
        ...
