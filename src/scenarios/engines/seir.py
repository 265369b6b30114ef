"""Age-structured compartmental engine (deterministic ODEs on scipy's ``solve_ivp``).

Compartments, for every immunity stratum ``s`` and age band ``a`` (see :mod:`scenarios.disease`)::

    S[s, a] --lambda_v--> E_v,1 -> ... -> E_v,kE --(onset)--> I_v,1 -> ... -> I_v,kI --> S[recovered_to[v], a]
    S[s, a] --waning--> S[waned, a]                     (protected strata only)

with Erlang stages (rate ``kE / latent_days`` per stage, ``kI / infectious_days`` per stage) and force of
infection ``lambda_v[a] = beta_v * sum_b C[a, b] * I_v[b] / N[b]`` scaled by ``susceptibility[v, s]``. E and I
keep the stratum at infection, so onsets can be split by severity with that stratum's protection.

Each day is one ``solve_ivp`` call over ``[0, 1]``; cumulative infections and onsets ride along in the
state so a day's flows are exact differences. Importations and booster doses act at the start of the day.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ..config import Config
from ..disease import DOSE3, WANED, Disease
from ..population import Population
from .base import DayFlows, DayInputs

__all__ = ["CompartmentalEngine"]


class CompartmentalEngine:
    """Deterministic age-structured SEIR with Erlang stages, immunity strata and two variants.

    Parameters
    ----------
    config : Config
        The what-if (only read for its solver-independent settings; the arrays come from ``disease``).
    population : Population
        Sizes and contact matrices.
    disease : Disease
        Transmission, immunity and natural-history arrays.
    rng : Generator, optional
        Unused (the engine is deterministic); accepted so that both engines are built alike.
    rtol : float
        Relative tolerance of the integrator.
    """

    stochastic = False

    def __init__(
        self,
        config: Config,
        population: Population,
        disease: Disease,
        rng: np.random.Generator | None = None,
        rtol: float = 1e-8,
    ):
        self.population = population
        self.disease = disease
        self.rtol = rtol
        nv, ns, na = len(disease.variants), len(disease.strata), len(population.sizes)
        ke, ki = disease.latent_stages, disease.infectious_stages
        self.shapes = {
            "S": (ns, na),
            "E": (nv, ke, ns, na),
            "I": (nv, ki, ns, na),
            "cum_inf": (nv, ns, na),
            "cum_onset": (nv, ns, na),
        }
        ends = np.cumsum([int(np.prod(s)) for s in self.shapes.values()])
        self._slices = {k: slice(e - int(np.prod(s)), e) for (k, s), e in zip(self.shapes.items(), ends, strict=True)}
        self.y = np.zeros(ends[-1])
        self._view(self.y)["S"][:] = disease.initial_strata
        self._contacts = population.contact_matrix()
        self._n_inv = 1.0 / np.maximum(population.sizes, 1e-300)

    def _view(self, y: np.ndarray) -> dict[str, np.ndarray]:
        return {k: y[sl].reshape(self.shapes[k]) for k, sl in self._slices.items()}

    def force_of_infection(self, infectious: np.ndarray, contacts: np.ndarray) -> np.ndarray:
        """``lambda[v, a]`` from infectious people ``infectious[v, a]`` and a contact matrix."""
        return self.disease.beta[:, None] * ((infectious * self._n_inv) @ contacts.T)

    def rhs(self, t: float, y: np.ndarray, contacts: np.ndarray) -> np.ndarray:
        """Time derivative of the state vector under a fixed contact matrix."""
        d = self.disease
        x = self._view(y)
        out = np.zeros_like(y)
        dx = self._view(out)
        S, E, I = x["S"], x["E"], x["I"]  # noqa: E741 - the compartments' own names
        lam = self.force_of_infection(I.sum(axis=(1, 2)), contacts)  # (v, a)
        inf = S[None] * d.susceptibility[:, :, None] * lam[:, None, :]  # (v, s, a)
        se, si = d.latent_stages / d.latent_days, d.infectious_stages / d.infectious_days
        e_out, i_out = se * E, si * I
        onset = e_out[:, -1]
        recovered = i_out[:, -1].sum(axis=1)  # (v, a)
        waning = d.waning_per_day * S * d.wanes[:, None]

        dx["S"][:] = -inf.sum(axis=0) - waning
        dx["S"][WANED] += waning.sum(axis=0)
        np.add.at(dx["S"], d.recovered_to, recovered)
        dx["E"][:] = -e_out
        dx["E"][:, 0] += inf
        dx["E"][:, 1:] += e_out[:, :-1]
        dx["I"][:] = -i_out
        dx["I"][:, 0] += onset
        dx["I"][:, 1:] += i_out[:, :-1]
        dx["cum_inf"][:] = inf
        dx["cum_onset"][:] = onset
        return out

    def _seed(self, x: dict[str, np.ndarray], imported: np.ndarray) -> np.ndarray:
        """Move imported infections from susceptibles (by susceptibility-weighted share) into E stage 1."""
        seeded = np.zeros(self.shapes["cum_inf"])
        for v in range(imported.shape[0]):
            weight = x["S"] * self.disease.susceptibility[v][:, None]
            total = weight.sum(axis=0)
            take = np.minimum(imported[v], total)
            share = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
            seeded[v] = share * take
            x["S"][:] -= seeded[v]
            x["E"][v, 0] += seeded[v]
        return seeded

    def _boost(self, x: dict[str, np.ndarray], doses: np.ndarray) -> None:
        eligible = x["S"] * self.disease.boostable[:, None]
        total = eligible.sum(axis=0)
        given = np.minimum(doses, total)
        moved = np.divide(eligible, total, out=np.zeros_like(eligible), where=total > 0) * given
        x["S"][:] -= moved
        x["S"][DOSE3] += moved.sum(axis=0)

    def step(self, inputs: DayInputs) -> DayFlows:
        """Advance one day; see :class:`scenarios.engines.base.Engine`."""
        y = self.y.copy()
        x = self._view(y)
        self._boost(x, np.asarray(inputs.booster_doses, dtype=float))
        seeded = self._seed(x, np.asarray(inputs.imported, dtype=float))
        before = {k: x[k].copy() for k in ("cum_inf", "cum_onset")}
        contacts = self.population.contact_matrix(inputs.contact_multipliers)
        sol = solve_ivp(
            self.rhs,
            (0.0, 1.0),
            y,
            args=(contacts,),
            method="RK45",
            rtol=self.rtol,
            atol=1e-9 * self.population.total / y.size,
        )
        if not sol.success:  # pragma: no cover - the system is smooth and bounded
            raise RuntimeError(f"integration failed on day {inputs.day}: {sol.message}")
        self.y = np.maximum(sol.y[:, -1], 0.0) if sol.y[:, -1].min() < 0 else sol.y[:, -1]
        x = self._view(self.y)
        return DayFlows(
            new_infections=x["cum_inf"] - before["cum_inf"] + seeded,
            new_onsets=x["cum_onset"] - before["cum_onset"],
            susceptible=x["S"].copy(),
            exposed=x["E"].sum(axis=(1, 2)),
            infectious=x["I"].sum(axis=(1, 2)),
        )
