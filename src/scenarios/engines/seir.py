"""Age-structured compartmental engine (deterministic ODEs on scipy's ``solve_ivp``).

Compartments, for every immunity stratum ``s`` and age band ``a`` (see :mod:`scenarios.disease`)::

    S[s, a] --lambda_v--> E_v,1 -> ... -> E_v,kE --(onset)--> I_v,1 -> ... -> I_v,kI --> S[recovered_to[v], a]
    S[s, a] --waning--> S[waned, a]                     (protected strata only)

with Erlang stages (rate ``kE / latent_days`` per stage, ``kI / infectious_days`` per stage) and force of
infection ``lambda_v[a] = beta_v * sum_b C[a, b] * I_v[b] / N[b]`` scaled by ``susceptibility[v, s]``. E and I
keep the stratum at infection, so onsets can be split by severity with that stratum's protection.

Each day is one ``solve_ivp`` call over ``[0, 1]``; cumulative infections and onsets ride along in the
state so a day's flows are exact differences. Importations and booster doses act at the start of the day.

Solvers
-------
``solver="scipy"`` is the reference: ``solve_ivp(method="RK45")`` on a numpy right-hand side.
``solver="compiled"`` runs the same Dormand-Prince 5(4) method (tableau, error norm and tolerances) in
numba-compiled code (:mod:`scenarios.engines._seir_kernels`), starting each day with the previous day's step
and leaving the cumulative counters out of the error norm; it agrees with the reference within the
reference's own error (below 1e-6 relative on every output) and takes about a fifth of the time or less.
``"auto"`` picks ``"compiled"`` when numba is installed.
:class:`EnsembleEngine` advances many parameter sets (members) at once along a leading axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.integrate import RK45, solve_ivp

from ..config import Config
from ..disease import DOSE3, WANED, Disease
from ..population import Population
from . import _seir_kernels
from .base import DayFlows, DayInputs

__all__ = ["CompartmentalEngine", "EnsembleEngine", "Solver", "resolve_solver"]

Solver = Literal["auto", "compiled", "scipy"]
_TABLEAU = tuple(np.ascontiguousarray(x, dtype=float) for x in (RK45.A, RK45.B, RK45.E))


def resolve_solver(solver: str) -> Literal["compiled", "scipy"]:
    """Return the solver ``solver`` stands for: ``"auto"`` is ``"compiled"`` when numba is installed."""
    if solver == "auto":
        return "compiled" if _seir_kernels.COMPILED else "scipy"
    if solver == "compiled" and not _seir_kernels.COMPILED:
        raise ValueError("solver 'compiled' needs numba (pip install numba); use solver='scipy'")
    if solver not in ("compiled", "scipy"):
        raise ValueError(f"unknown solver {solver!r}; allowed: 'auto', 'compiled', 'scipy'")
    return solver  # type: ignore[return-value]


def _shapes(disease: Disease, n_age: int) -> dict[str, tuple[int, ...]]:
    nv, ns = len(disease.variants), len(disease.strata)
    ke, ki = disease.latent_stages, disease.infectious_stages
    return {
        "S": (ns, n_age),
        "E": (nv, ke, ns, n_age),
        "I": (nv, ki, ns, n_age),
        "cum_inf": (nv, ns, n_age),
        "cum_onset": (nv, ns, n_age),
    }


def _slices(shapes: dict[str, tuple[int, ...]]) -> dict[str, slice]:
    ends = np.cumsum([int(np.prod(s)) for s in shapes.values()])
    return {k: slice(e - int(np.prod(s)), e) for (k, s), e in zip(shapes.items(), ends, strict=True)}


def boost(S: np.ndarray, boostable: np.ndarray, doses: np.ndarray) -> None:
    """Move ``doses`` (by age; leading member axes allowed) from boostable strata of ``S`` to ``dose3``, in place."""
    if not doses.any():  # most days: nothing moves
        return
    eligible = S * boostable[:, None]
    total = eligible.sum(axis=-2)
    given = np.minimum(doses, total)
    moved = np.divide(eligible, total[..., None, :], out=np.zeros_like(eligible), where=total[..., None, :] > 0)
    moved *= given[..., None, :]
    S -= moved
    S[..., DOSE3, :] += moved.sum(axis=-2)


def seed(S: np.ndarray, E1: np.ndarray, susceptibility: np.ndarray, imported: np.ndarray) -> np.ndarray:
    """Move imported infections from ``S`` (susceptibility-weighted shares) into the first latent stage.

    ``S`` is (..., ns, na), ``E1`` (..., nv, ns, na), ``susceptibility`` (..., nv, ns) and ``imported``
    (..., nv, na), with the same leading member axes; ``S`` and ``E1`` change in place. Variants are seeded
    one after the other. Returns the seeded infections, shape (..., nv, ns, na).
    """
    seeded = np.zeros(E1.shape)
    for v in range(imported.shape[-2]):
        if not imported[..., v, :].any():  # most days: no importations of this variant
            continue
        weight = S * susceptibility[..., v, :, None]
        total = weight.sum(axis=-2)[..., None, :]
        take = np.minimum(imported[..., v, None, :], total)
        share = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
        seeded[..., v, :, :] = share * take
        S -= seeded[..., v, :, :]
        E1[..., v, :, :] += seeded[..., v, :, :]
    return seeded


class CompartmentalEngine:
    """Deterministic age-structured SEIR with Erlang stages, immunity strata and two variants.

    Parameters
    ----------
    config : Config or None
        The what-if (not read: the arrays come from ``disease``; kept so that both engines are built alike).
    population : Population
        Sizes and contact matrices.
    disease : Disease
        Transmission, immunity and natural-history arrays.
    rng : Generator, optional
        Unused (the engine is deterministic); accepted so that both engines are built alike.
    rtol : float
        Relative tolerance of the integrator.
    solver : {"auto", "compiled", "scipy"}
        ``"scipy"``: ``solve_ivp`` (the reference); ``"compiled"``: the same RK45 method compiled with numba.
    """

    stochastic = False

    def __init__(
        self,
        config: Config | None,
        population: Population,
        disease: Disease,
        rng: np.random.Generator | None = None,
        rtol: float = 1e-8,
        solver: Solver = "auto",
    ):
        self.population = population
        self.disease = disease
        self.rtol = rtol
        self.solver = resolve_solver(solver)
        self.shapes = _shapes(disease, len(population.sizes))
        self._slices = _slices(self.shapes)
        self.y = np.zeros(self._slices["cum_onset"].stop)
        self._view(self.y)["S"][:] = disease.initial_strata
        self._contacts = population.contact_matrix()
        self._n_inv = 1.0 / np.maximum(population.sizes, 1e-300)
        self.attrs = {"seir_solver": _SOLVER_LABEL[self.solver]}
        if self.solver == "compiled":
            self._members = _Members([disease], self.shapes, population)

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

    def step(self, inputs: DayInputs) -> DayFlows:
        """Advance one day; see :class:`scenarios.engines.base.Engine`."""
        y = self.y.copy()
        x = self._view(y)
        boost(x["S"], self.disease.boostable, np.asarray(inputs.booster_doses, dtype=float))
        imported = np.asarray(inputs.imported, dtype=float)
        seeded = seed(x["S"], x["E"][:, 0], self.disease.susceptibility, imported)
        before = {k: x[k].copy() for k in ("cum_inf", "cum_onset")}
        contacts = self.population.contact_matrix(inputs.contact_multipliers)
        atol = 1e-9 * self.population.total / y.size
        if self.solver == "compiled":
            states = y[None]
            changed = np.array([bool(imported.any()) or bool(np.any(inputs.booster_doses))])
            self._members.integrate(states, contacts[None], atol, self.rtol, inputs.day, changed)
            end = states[0]
        else:
            sol = solve_ivp(self.rhs, (0.0, 1.0), y, args=(contacts,), method="RK45", rtol=self.rtol, atol=atol)
            if not sol.success:  # pragma: no cover - the system is smooth and bounded
                raise RuntimeError(f"integration failed on day {inputs.day}: {sol.message}")
            end = sol.y[:, -1]
        if end.min() < 0:
            end = np.maximum(end, 0.0)
            if self.solver == "compiled":
                self._members.stale[0] = True  # clipped: the kept right-hand side is not the state's
        self.y = end
        x = self._view(self.y)
        return DayFlows(
            new_infections=x["cum_inf"] - before["cum_inf"] + seeded,
            new_onsets=x["cum_onset"] - before["cum_onset"],
            susceptible=x["S"].copy(),
            exposed=x["E"].sum(axis=(1, 2)),
            infectious=x["I"].sum(axis=(1, 2)),
        )


_SOLVER_LABEL = {
    "compiled": "RK45 (Dormand-Prince 5(4), scipy's error control; each day starts with the last day's step), "
    "numba-compiled",
    "scipy": "scipy.integrate.solve_ivp RK45",
}


class _Members:
    """Per-member arrays of :func:`scenarios.engines._seir_kernels.rk45_days`, built once per run."""

    def __init__(self, diseases: Sequence[Disease], shapes: dict[str, tuple[int, ...]], population: Population):
        d0 = diseases[0]
        ns, na = shapes["S"]
        nv, ke, ki = shapes["E"][0], shapes["E"][1], shapes["I"][1]
        self.dims = np.array([ns, na, nv, ke, ki, WANED], dtype=np.int64)
        self.beta = np.array([d.beta for d in diseases], dtype=float)
        self.susc = np.ascontiguousarray([d.susceptibility for d in diseases], dtype=float)
        self.rates = np.array(
            [[d.latent_stages / d.latent_days, d.infectious_stages / d.infectious_days, 1.0] for d in diseases]
        )
        # Waning rate of each stratum (vaccine- and infection-acquired protection wane at their own rates).
        self.wanes = np.array([d.waning_per_day[:, 0] * d.wanes for d in diseases])
        self.recovered_to = d0.recovered_to.astype(np.int64)
        self.n_inv = 1.0 / np.maximum(population.sizes, 1e-300)
        # Each member's first step of the next day: the step its last day proposed (0: choose as scipy).
        self.steps = np.zeros(len(diseases))
        # Each member's right-hand side at the end of its last day and that day's contacts: a day that starts
        # from that state (no seeding, boosters or clipping overnight: ``stale`` and ``changed`` say) under
        # the same contacts reuses it. Flags, not a comparison of states, which would cost what it saves.
        self.derivs = np.zeros((len(diseases), sum(int(np.prod(s)) for s in shapes.values())))
        self.stale = np.ones(len(diseases), dtype=bool)  # no right-hand side kept yet, or the state clipped
        self.contacts = np.full((len(diseases), na, na), np.nan)

    def integrate(
        self, states: np.ndarray, contacts: np.ndarray, atol: float, rtol: float, day: int, changed: np.ndarray
    ) -> None:
        """Advance ``states`` (n_member, n_state) by one day in place under ``contacts`` (n_member, na, na).

        ``changed`` (n_member,) marks members whose state changed since their last day ended (seeding, boosters).
        """
        contacts = np.ascontiguousarray(contacts, dtype=float)
        fresh = ~(self.stale | changed) & (contacts == self.contacts).all(axis=(1, 2))
        nfev = _seir_kernels.rk45_days(
            states,
            self.derivs,
            self.steps,
            fresh,
            atol,
            rtol,
            *_TABLEAU,
            self.dims,
            self.beta,
            self.susc,
            contacts,
            self.n_inv,
            self.rates,
            self.wanes,
            self.recovered_to,
        )
        self.stale[:] = False
        self.contacts[:] = contacts
        if (nfev < 0).any():  # pragma: no cover - the system is smooth and bounded
            raise RuntimeError(f"integration failed on day {day}: step size too small")


class EnsembleEngine:
    """Many members of :class:`CompartmentalEngine` (same population, own disease arrays) advanced together.

    Member ``k`` gives, day by day, what ``CompartmentalEngine(config_k, population, diseases[k])`` gives:
    the same seeding, boosters and integration (the compiled kernel loops over members; the scipy solver,
    without numba, calls ``solve_ivp`` once per member).

    Parameters
    ----------
    population : Population
        Shared by every member (sizes and contact matrices).
    diseases : sequence of Disease
        One per member; variants, strata and numbers of stages must agree.
    rtol : float
        Relative tolerance of the integrator.
    solver : {"auto", "compiled", "scipy"}
        As :class:`CompartmentalEngine`.
    """

    stochastic = False

    def __init__(
        self, population: Population, diseases: Sequence[Disease], rtol: float = 1e-8, solver: Solver = "auto"
    ):
        self.population, self.diseases, self.rtol = population, list(diseases), rtol
        self.solver = resolve_solver(solver)
        self.shapes = _shapes(self.diseases[0], len(population.sizes))
        if any(_shapes(d, len(population.sizes)) != self.shapes for d in self.diseases):
            raise ValueError("members must share variants and numbers of latent/infectious stages")
        self._slices = _slices(self.shapes)
        k = len(self.diseases)
        self.y = np.zeros((k, self._slices["cum_onset"].stop))
        self._x = self._view(self.y)  # views of the state by compartment, made once
        self._x["S"][:] = [d.initial_strata for d in self.diseases]
        self._susceptibility = np.array([d.susceptibility for d in self.diseases])
        self._boostable = self.diseases[0].boostable
        self._members = _Members(self.diseases, self.shapes, population) if self.solver == "compiled" else None
        # Without numba: one reference engine per member, for its right-hand side (its config is not read).
        self._singles = (
            [] if self._members else [CompartmentalEngine(None, population, d, solver="scipy") for d in diseases]
        )
        self.attrs = {"seir_solver": _SOLVER_LABEL[self.solver]}

    def _view(self, y: np.ndarray) -> dict[str, np.ndarray]:
        return {k: y[:, sl].reshape((y.shape[0], *self.shapes[k])) for k, sl in self._slices.items()}

    def step(self, day: int, contacts: np.ndarray, imported: np.ndarray, booster_doses: np.ndarray) -> DayFlows:
        """Advance every member one day.

        Parameters
        ----------
        day : int
            Days since the start (for error messages).
        contacts : ndarray, shape (n_member, n_age, n_age)
            Each member's contact matrix of the day (multipliers applied).
        imported : ndarray, shape (n_member, n_variant, n_age)
        booster_doses : ndarray, shape (n_member, n_age)

        Returns
        -------
        DayFlows
            As :meth:`CompartmentalEngine.step`, every array with a leading member axis.
        """
        y, x = self.y, self._x  # the state changes in place (nothing else holds it)
        boost(x["S"], self._boostable, booster_doses)
        seeded = seed(x["S"], x["E"][:, :, 0], self._susceptibility, imported)
        before = {k: x[k].copy() for k in ("cum_inf", "cum_onset")}
        atol = 1e-9 * self.population.total / y.shape[1]
        if self._members is not None:
            changed = imported.reshape(len(y), -1).any(axis=1) | booster_doses.any(axis=1)
            self._members.integrate(y, contacts, atol, self.rtol, day, changed)
        else:  # the reference integrator, one member at a time
            for k, one in enumerate(self._singles):
                sol = solve_ivp(
                    one.rhs, (0.0, 1.0), y[k], args=(contacts[k],), method="RK45", rtol=self.rtol, atol=atol
                )
                if not sol.success:  # pragma: no cover - the system is smooth and bounded
                    raise RuntimeError(f"integration failed on day {day}: {sol.message}")
                y[k] = sol.y[:, -1]
        negative = y.min(axis=1) < 0
        if negative.any():  # as the single engine: clip only a member that went below zero
            y[negative] = np.maximum(y[negative], 0.0)
            if self._members is not None:
                self._members.stale |= negative
        return DayFlows(
            new_infections=x["cum_inf"] - before["cum_inf"] + seeded,
            new_onsets=x["cum_onset"] - before["cum_onset"],
            susceptible=x["S"].copy(),
            exposed=x["E"].sum(axis=(2, 3)),
            infectious=x["I"].sum(axis=(2, 3)),
        )
