"""The compiled RK45 (fast path) against scipy's solve_ivp (the reference), day by day on every output."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import scenarios
from scenarios.engines import _seir_kernels, seir
from scenarios.engines.seir import resolve_solver

from .conftest import CONFIGS, homogeneous

pytestmark = pytest.mark.skipif(not _seir_kernels.COMPILED, reason="numba not installed: only the scipy path exists")

#: Largest relative difference allowed between the two paths on any output variable.
TOLERANCE = 1e-6


def max_relative_difference(a: xr.Dataset, b: xr.Dataset) -> dict[str, float]:
    """Per variable: max |a - b| over all days and cells, relative to max |a| of that variable.

    Scaling by the variable's largest value (not cell by cell) keeps cells that are zero or 1e-12 people in
    one path from dominating; a variable that is zero everywhere in ``a`` must be exactly zero in ``b``.
    """
    assert set(a.data_vars) == set(b.data_vars)
    out = {}
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        if x.dtype.kind not in "fiu":
            assert (x == y).all(), name
            continue
        x, y = x.astype(float), y.astype(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), name
        diff = np.nanmax(np.abs(x - y), initial=0.0)
        scale = np.nanmax(np.abs(x), initial=0.0)
        out[name] = diff / scale if scale > 0 else (0.0 if diff == 0 else np.inf)
    return out


def test_resolve_solver() -> None:
    assert resolve_solver("auto") == "compiled"
    assert resolve_solver("scipy") == "scipy"
    with pytest.raises(ValueError, match="unknown solver 'rk4'"):
        resolve_solver("rk4")


def test_compiled_matches_reference_homogeneous() -> None:
    cfg = homogeneous(scenario={"horizon_days": 120})
    fast, ref = scenarios.run(cfg, solver="compiled"), scenarios.run(cfg, solver="scipy")
    worst = max_relative_difference(ref, fast)
    assert max(worst.values()) <= TOLERANCE, worst
    assert fast.attrs["seir_solver"] != ref.attrs["seir_solver"]


def test_compiled_is_as_accurate_as_reference(monkeypatch) -> None:
    """Against a solution at rtol 1e-12, the fast path's error is no larger than the reference's own.

    The fast path takes other steps than ``solve_ivp`` (each day starts with the step the last one proposed;
    the cumulative counters stay out of the error norm), so the two differ by about the reference's own
    error, not by rounding; this checks that the difference is not the fast path's inaccuracy.
    """
    cfg = homogeneous(scenario={"horizon_days": 120})
    fast, ref = scenarios.run(cfg, solver="compiled"), scenarios.run(cfg, solver="scipy")
    defaults = seir.CompartmentalEngine.__init__.__defaults__
    monkeypatch.setattr(seir.CompartmentalEngine.__init__, "__defaults__", (defaults[0], 1e-12, defaults[2]))
    truth = scenarios.run(cfg, solver="compiled")
    err_fast = max(max_relative_difference(truth, fast).values())
    err_ref = max(max_relative_difference(truth, ref).values())
    assert 0 < err_fast <= err_ref <= TOLERANCE, (err_fast, err_ref)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.stem)
def test_compiled_matches_reference_on_shipped_configs(path) -> None:
    cfg = scenarios.load_config(path)
    fast, ref = scenarios.run(cfg, solver="compiled"), scenarios.run(cfg, solver="scipy")
    worst = max_relative_difference(ref, fast)
    assert max(worst.values()) <= TOLERANCE, {k: v for k, v in worst.items() if v > TOLERANCE}


def test_reused_right_hand_side_changes_nothing(monkeypatch) -> None:
    """A day that starts where the last ended reuses its last right-hand side: the same numbers, bit for bit."""
    from scenarios.engines.seir import EnsembleEngine
    from scenarios.simulate import prepare

    kernel, reused = _seir_kernels.rk45_days, []

    def counting(states, derivs, steps, fresh, *rest):
        reused.append(fresh.copy())
        return kernel(states, derivs, steps, fresh, *rest)

    monkeypatch.setattr(_seir_kernels, "rk45_days", counting)
    cfg = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml")
    population, disease = prepare(cfg)
    na, nv = len(population.sizes), len(disease.variants)
    engines = [EnsembleEngine(population, [disease] * 2) for _ in range(2)]
    base = population.contact_matrix()
    for day in range(40):
        imported = np.zeros((2, nv, na))
        imported[:, 0] = 50.0 if day in (0, 20) else 0.0  # seeding changes the state overnight on those days
        contacts = np.stack([base, base * (0.6 if day >= 10 else 1.0)])  # member 1's contacts change on day 10
        engines[1]._members.stale[:] = True  # never reuse: every day evaluates its first right-hand side
        flows = [e.step(day, contacts, imported, np.zeros((2, na))) for e in engines]
        np.testing.assert_array_equal(engines[0].y, engines[1].y)
        np.testing.assert_array_equal(flows[0].new_infections, flows[1].new_infections)
    used = np.array(reused[0::2])  # the first engine's days
    assert not np.array(reused[1::2]).any()
    assert not used[[0, 20]].any() and not used[10, 1] and used[10, 0]  # seeding, new contacts: evaluated again
    assert used.sum() == 2 * 40 - 5
