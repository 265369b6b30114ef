"""Compiled right-hand side and one-day Dormand-Prince 5(4) integration for the compartmental engine.

The integrator is scipy's ``RK45`` (same tableau, passed in from ``scipy.integrate.RK45``; same RMS error
norm, safety factor, step-size limits and tolerances) with two savings: each day starts with the step the
previous day proposed instead of scipy's initial-step selection (about 19 right-hand sides a day instead of
29), and the cumulative counters, which nothing in the right-hand side reads, get no stage values and stay out
of the error norm. Steps therefore differ from ``solve_ivp``'s and the two paths differ by about the
reference's own error (a few 1e-7 relative at most on the shipped configs; against a solution at
``rtol=1e-12`` the compiled path's error is the smaller one, ``tests/test_seir_solvers.py``).

Layout of a state vector (as :class:`scenarios.engines.seir.CompartmentalEngine`): ``S (ns, na)``,
``E (nv, ke, ns, na)``, ``I (nv, ki, ns, na)``, ``cum_inf (nv, ns, na)``, ``cum_onset (nv, ns, na)``.

numba is optional: without it :data:`COMPILED` is False and the engine uses scipy (the reference path).
"""

from __future__ import annotations

import numpy as np

from .._numba import COMPILED, njit

__all__ = ["COMPILED", "rk45_days"]

_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0


@njit(cache=True, fastmath=False)
def _rhs(y, out, ns, na, nv, ke, ki, beta, susc, contacts, n_inv, se, si, waning, wanes, waned, recovered_to, work):
    """Time derivative of one member's state ``y`` into ``out`` (the equations of ``CompartmentalEngine.rhs``).

    ``work`` is scratch space of at least ``2 na + ns na`` numbers (allocated once per day, not per call).
    Loops run over contiguous blocks (``ns * na`` people of one stage), without branches inside, so the
    compiler vectorises them whatever the sizes; the sizes are only known at run time.
    """
    p = ns * na
    o_e = p
    o_i = o_e + nv * ke * p
    o_ci = o_i + nv * ki * p
    o_co = o_ci + nv * p
    lam = work[:na]
    x = work[na : 2 * na]
    w = work[2 * na : 2 * na + p]
    # Waning and the susceptibles' outflow start the S block: dS = -sum_v inf - waning (+ waned, recovered).
    for s in range(ns):
        f = waning * wanes[s]
        for a in range(na):
            w[s * na + a] = f * y[s * na + a]
    for j in range(p):
        out[j] = -w[j]
    for v in range(nv):
        # Force of infection lambda[a] = beta_v * sum_b C[a, b] * I_v[b] / N[b].
        x[:] = 0.0
        for k in range(ki):
            for s in range(ns):
                base = o_i + (v * ki + k) * p + s * na
                for b in range(na):
                    x[b] += y[base + b]
        for b in range(na):
            x[b] *= n_inv[b]
        for a in range(na):
            acc = 0.0
            for b in range(na):
                acc += x[b] * contacts[a, b]
            lam[a] = beta[v] * acc
        # New infections by stratum and age, into the first latent stage and the cumulative count.
        ci = o_ci + v * p
        for s in range(ns):
            f = susc[v, s]
            for a in range(na):
                out[ci + s * na + a] = y[s * na + a] * f * lam[a]
        for j in range(p):
            out[j] -= out[ci + j]
        # Latent stages: inflow from the previous stage (infections for the first).
        e0 = o_e + v * ke * p
        for j in range(p):
            out[e0 + j] = out[ci + j] - se * y[e0 + j]
        for k in range(1, ke):
            e = e0 + k * p
            for j in range(p):
                out[e + j] = se * y[e - p + j] - se * y[e + j]
        last_e = e0 + (ke - 1) * p
        co = o_co + v * p
        for j in range(p):
            out[co + j] = se * y[last_e + j]  # onsets
        i0 = o_i + v * ki * p
        for j in range(p):
            out[i0 + j] = out[co + j] - si * y[i0 + j]
        for k in range(1, ki):
            i = i0 + k * p
            for j in range(p):
                out[i + j] = si * y[i - p + j] - si * y[i + j]
        last_i = i0 + (ki - 1) * p
        r = recovered_to[v] * na
        for s in range(ns):
            for a in range(na):
                out[r + a] += si * y[last_i + s * na + a]
    # Waned people arrive in the waned stratum.
    for s in range(ns):
        for a in range(na):
            out[waned * na + a] += w[s * na + a]


@njit(cache=True, fastmath=False)
def _rms(x, n):
    """Root mean square of ``x[:n]``."""
    acc = 0.0
    for j in range(n):
        acc += x[j] * x[j]
    return np.sqrt(acc / n)


@njit(cache=True, fastmath=False)
def _day(y0, h_start, atol, rtol, tab_a, tab_b, tab_e, p):
    """Integrate one member over ``[0, 1]`` with scipy's ``RK45`` steps; return ``(y1, n_rhs, h_next)``.

    ``p`` holds the right-hand side's arguments after ``out`` (see :func:`_rhs`). ``h_start > 0`` is the
    first step to try; 0 selects it as ``solve_ivp`` does. ``h_next`` is the step proposed after the day's
    last full step (the last step is shortened to end the day), for the next day to start with.

    Differences from ``solve_ivp``: the cumulative counters (the state's tail, read by nothing in the
    right-hand side) are quadratures of the stage flows; they need no stage values and take no part in the
    error norm, so steps are sized on the compartments alone.
    """
    ns, na, nv, ke, ki = p[0], p[1], p[2], p[3], p[4]
    n = y0.size
    m_core = ns * na * (1 + nv * (ke + ki))
    n_stages = tab_b.size
    order = 4  # error estimator order of RK45
    exponent = -1.0 / (order + 1)
    K = np.empty((n_stages + 1, n))
    y = y0.copy()
    f = np.empty(n)
    _rhs(y, f, *p)
    nfev = 1
    t, t_bound = 0.0, 1.0
    if h_start > 0:
        h_abs = min(h_start, t_bound)
    else:  # select_initial_step (Hairer, Norsett & Wanner II.4), as scipy
        scale = atol + np.abs(y[:m_core]) * rtol
        d0 = _rms(y[:m_core] / scale, m_core)
        d1 = _rms(f[:m_core] / scale, m_core)
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h0 = min(h0, t_bound - t)
        y1 = y + h0 * f
        f1 = np.empty(n)
        _rhs(y1, f1, *p)
        nfev += 1
        d2 = _rms((f1[:m_core] - f[:m_core]) / scale, m_core) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
        h_abs = min(100 * h0, h1, t_bound - t)
    h_next = h_abs

    y_new = np.empty(n)
    f_new = np.empty(n)
    ys = np.empty(n)
    err = np.empty(m_core)
    while t < t_bound:
        min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
        if h_abs < min_step:
            h_abs = min_step
        rejected = False
        while True:
            if h_abs < min_step:
                return y, -nfev, h_abs  # too small a step: the caller reports the failure
            t_new = t + h_abs
            full = True
            if t_new - t_bound > 0:
                t_new = t_bound
                full = False
            h = t_new - t
            h_abs = np.abs(h)
            # One RK step (scipy rk_step): K[0] = f, stages, y_new, f_new = K[-1].
            K[0, :] = f
            # Stage loops run over the state innermost (contiguous, vectorised by the compiler).
            for s in range(1, n_stages):
                ys[:m_core] = 0.0
                for m in range(s):
                    a = tab_a[s, m]
                    for j in range(m_core):
                        ys[j] += K[m, j] * a
                for j in range(m_core):
                    ys[j] = y[j] + ys[j] * h
                _rhs(ys, K[s], *p)
            y_new[:] = 0.0
            for m in range(n_stages):
                b = tab_b[m]
                for j in range(n):
                    y_new[j] += K[m, j] * b
            for j in range(n):
                y_new[j] = y[j] + h * y_new[j]
            _rhs(y_new, f_new, *p)
            K[n_stages, :] = f_new
            nfev += n_stages
            err[:] = 0.0
            for m in range(n_stages + 1):
                e = tab_e[m]
                for j in range(m_core):
                    err[j] += K[m, j] * e
            for j in range(m_core):
                err[j] = err[j] * h / (atol + max(np.abs(y[j]), np.abs(y_new[j])) * rtol)
            error_norm = _rms(err, m_core)
            if error_norm < 1:
                factor = _MAX_FACTOR if error_norm == 0 else min(_MAX_FACTOR, _SAFETY * error_norm**exponent)
                if rejected:
                    factor = min(1.0, factor)
                h_abs *= factor
                if full:
                    h_next = h_abs
                break
            h_abs *= max(_MIN_FACTOR, _SAFETY * error_norm**exponent)
            rejected = True
        t = t_new
        y[:] = y_new
        f[:] = f_new
    return y, nfev, h_next


@njit(cache=True, fastmath=False)
def rk45_days(
    states, steps, atol, rtol, tab_a, tab_b, tab_e, dims, beta, susc, contacts, n_inv, rates, wanes, recovered_to
):
    """Advance every member of an ensemble by one day, in place; return the right-hand-side calls of each.

    Parameters
    ----------
    states : ndarray, shape (n_member, n_state)
        State vectors, overwritten with the state at the end of the day.
    steps : ndarray, shape (n_member,)
        First step of each member (0: select it as ``solve_ivp``), overwritten with the step to start the
        next day with.
    atol, rtol : float
        Tolerances, as ``solve_ivp``.
    tab_a, tab_b, tab_e : ndarray
        The ``RK45`` tableau (``scipy.integrate.RK45.A, .B, .E``).
    dims : ndarray of int
        ``ns, na, nv, ke, ki, waned`` (sizes and the index of the ``waned`` stratum).
    beta : ndarray, shape (n_member, nv)
    susc : ndarray, shape (n_member, nv, ns)
    contacts : ndarray, shape (n_member, na, na)
        The day's contact matrix of each member.
    n_inv : ndarray, shape (na,)
        ``1 / N``.
    rates : ndarray, shape (n_member, 3)
        Per-stage latent and infectious rates, and a factor on ``wanes``.
    wanes : ndarray, shape (n_member, ns)
        Waning rate of each stratum (0 for strata that do not wane).
    recovered_to : ndarray of int, shape (nv,)

    Returns
    -------
    ndarray of int, shape (n_member,)
        Right-hand-side evaluations per member; negative when a member's step size underflowed.
    """
    ns, na, nv, ke, ki, waned = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    out = np.empty(states.shape[0], dtype=np.int64)
    work = np.empty(2 * na + ns * na)  # the right-hand side's scratch space, shared by all members
    for k in range(states.shape[0]):
        r = rates[k]
        p = (
            ns,
            na,
            nv,
            ke,
            ki,
            beta[k],
            susc[k],
            contacts[k],
            n_inv,
            r[0],
            r[1],
            r[2],
            wanes[k],
            waned,
            recovered_to,
            work,
        )
        y, nfev, h = _day(states[k], steps[k], atol, rtol, tab_a, tab_b, tab_e, p)
        states[k, :] = y
        steps[k] = h
        out[k] = nfev
    return out
