"""Compiled right-hand side and one-day Dormand-Prince 5(4) integration for the compartmental engine.

The integrator is scipy's ``RK45`` (same tableau, passed in from ``scipy.integrate.RK45``; same RMS error
norm, safety factor, step-size limits and tolerances) with two savings: each day starts with the step the
previous day proposed instead of scipy's initial-step selection (about 19 right-hand sides a day instead of
29), and the cumulative counters, which nothing in the right-hand side reads, get no stage values and stay out
of the error norm. A day whose state and contacts are those its previous day ended with (no seeding,
boosters or new contact multipliers overnight) starts from that day's last right-hand side (first same as
last, across days). Steps therefore differ from ``solve_ivp``'s and the two paths differ by about the
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
def _rhs(y, out, ns, na, nv, ke, ki, beta, susc_t, contacts_t, n_inv, se, si, wane_t, waned, recovered_to, sc):
    """Time derivative of one member's state ``y`` into ``out`` (the equations of ``CompartmentalEngine.rhs``).

    ``y`` and ``out`` are the state vector seen as rows of ``ns * na`` people (``S``, then the ``E`` and
    ``I`` stages of each variant, then the cumulative counters), and ``susc_t`` (nv, ns na) and ``wane_t``
    (ns na) the susceptibility and waning rate of each stratum repeated over ages, so that every loop but
    the contact product runs along one row from index 0: contiguous, without index arithmetic the compiler
    cannot prove non-negative (which numba's negative-index wraparound would turn into a branch), hence
    vectorised whatever the sizes. Nothing is sliced here (a view costs more than a pass over a row).
    ``contacts_t`` is the transposed contact matrix; ``sc`` is scratch space of shape (5, ns na).
    """
    p = ns * na
    r_e = 1
    r_i = r_e + nv * ke
    r_ci = r_i + nv * ki
    r_co = r_ci + nv
    # sc rows: 0 force of infection (na), 1 infectious by age (na), 2 waning, 3 lambda by (s, a), 4 infectious.
    for j in range(p):
        sc[2, j] = wane_t[j] * y[0, j]
        out[0, j] = -sc[2, j]
    for v in range(nv):
        # Force of infection lambda[a] = beta_v * sum_b C[a, b] * I_v[b] / N[b].
        i0 = r_i + v * ki
        for j in range(p):
            sc[4, j] = y[i0, j]
        for k in range(1, ki):
            for j in range(p):
                sc[4, j] += y[i0 + k, j]
        for b in range(na):
            sc[1, b] = sc[4, b]
        for s in range(1, ns):
            for b in range(na):
                sc[1, b] += sc[4, s * na + b]
        for a in range(na):
            sc[0, a] = 0.0
        # Column by column: no chain of dependent additions, and each lam[a] still sums over b in order.
        for b in range(na):
            xb = sc[1, b] * n_inv[b]
            for a in range(na):
                sc[0, a] += contacts_t[b, a] * xb
        for s in range(ns):
            for a in range(na):
                sc[3, s * na + a] = beta[v] * sc[0, a]
        # New infections by stratum and age, into the first latent stage and the cumulative count.
        e0, ci = r_e + v * ke, r_ci + v
        for j in range(p):
            f = y[0, j] * susc_t[v, j] * sc[3, j]
            out[ci, j] = f
            out[0, j] -= f
            out[e0, j] = f - se * y[e0, j]
        # Later latent stages: inflow from the previous stage.
        for k in range(1, ke):
            for j in range(p):
                out[e0 + k, j] = se * (y[e0 + k - 1, j] - y[e0 + k, j])
        last_e, co = e0 + ke - 1, r_co + v
        for j in range(p):
            onset = se * y[last_e, j]
            out[co, j] = onset
            out[i0, j] = onset - si * y[i0, j]
        for k in range(1, ki):
            for j in range(p):
                out[i0 + k, j] = si * (y[i0 + k - 1, j] - y[i0 + k, j])
        last_i, r = i0 + ki - 1, recovered_to[v] * na
        for s in range(ns):
            for a in range(na):
                out[0, r + a] += si * y[last_i, s * na + a]
    # Waned people arrive in the waned stratum.
    for s in range(ns):
        for a in range(na):
            out[0, waned * na + a] += sc[2, s * na + a]


@njit(cache=True, fastmath=False)
def _sum_squares(x, n):
    """Sum of ``x[:n] ** 2`` in four interleaved partial sums.

    Vectorisable (a single running sum is a chain of dependent additions), and summed in the same order
    wherever ``x`` lies in memory, so a member's steps never depend on its place in a batch.
    """
    s0 = s1 = s2 = s3 = 0.0
    m = n - n % 4
    for j in range(0, m, 4):
        s0 += x[j] * x[j]
        s1 += x[j + 1] * x[j + 1]
        s2 += x[j + 2] * x[j + 2]
        s3 += x[j + 3] * x[j + 3]
    for j in range(m, n):
        s0 += x[j] * x[j]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, fastmath=False)
def _day(y, f, h_start, fresh, atol, rtol, tab_a, tab_b, tab_e, p, work):
    """Integrate one member over ``[0, 1]`` with scipy's ``RK45`` steps, in place; return ``(n_rhs, h_next)``.

    ``y`` is overwritten with the state at the end of the day and ``f`` with the right-hand side there (the
    next day starts from it when nothing changed the state or the contacts overnight). ``fresh``: ``f``
    already holds the right-hand side at ``y``. ``p`` holds the right-hand side's arguments after ``out``
    (see :func:`_rhs`); ``work`` is scratch space of ``(9, y.size)``. ``h_start > 0`` is the first step to
    try; 0 selects it as ``solve_ivp`` does. ``h_next`` is the step proposed after the day's last full step
    (the last step is shortened to end the day), for the next day to start with.

    Differences from ``solve_ivp``: the cumulative counters (the state's tail, read by nothing in the
    right-hand side) are quadratures of the stage flows; they need no stage values and take no part in the
    error norm, so steps are sized on the compartments alone. Each stage's combination of earlier stages is
    one pass over the state (the tableau's zeros included), and the error norm one more.
    """
    ns, na, nv, ke, ki = p[0], p[1], p[2], p[3], p[4]
    n = y.size
    m = ns * na * (1 + nv * (ke + ki))
    order = 4  # error estimator order of RK45
    exponent = -1.0 / (order + 1)
    K = work  # rows 0-6: the stages' right-hand sides
    k0, k1, k2, k3, k4, k5, k6 = work[0], work[1], work[2], work[3], work[4], work[5], work[6]
    ys, err = work[7], work[8]
    # The same buffers as rows of ns * na people, for the right-hand side (views made once a day).
    rows = (n // (ns * na), ns * na)
    y2, f2, ys2 = y.reshape(rows), f.reshape(rows), ys.reshape(rows)
    k1_2, k2_2, k3_2, k4_2, k5_2, k6_2 = (
        k1.reshape(rows),
        k2.reshape(rows),
        k3.reshape(rows),
        k4.reshape(rows),
        k5.reshape(rows),
        k6.reshape(rows),
    )
    nfev = 0
    if not fresh:
        _rhs(y2, f2, *p)
        nfev += 1
    t, t_bound = 0.0, 1.0
    if h_start > 0:
        h_abs = min(h_start, t_bound)
    else:  # select_initial_step (Hairer, Norsett & Wanner II.4), as scipy
        scale = atol + np.abs(y[:m]) * rtol
        d0 = np.sqrt(_sum_squares(y[:m] / scale, m) / m)
        d1 = np.sqrt(_sum_squares(f[:m] / scale, m) / m)
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h0 = min(h0, t_bound - t)
        for j in range(n):
            ys[j] = y[j] + h0 * f[j]
        _rhs(ys2, k1_2, *p)
        nfev += 1
        d2 = np.sqrt(_sum_squares((k1[:m] - f[:m]) / scale, m) / m) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
        h_abs = min(100 * h0, h1, t_bound - t)
    h_next = h_abs
    a10 = tab_a[1, 0]
    a20, a21 = tab_a[2, 0], tab_a[2, 1]
    a30, a31, a32 = tab_a[3, 0], tab_a[3, 1], tab_a[3, 2]
    a40, a41, a42, a43 = tab_a[4, 0], tab_a[4, 1], tab_a[4, 2], tab_a[4, 3]
    a50, a51, a52, a53, a54 = tab_a[5, 0], tab_a[5, 1], tab_a[5, 2], tab_a[5, 3], tab_a[5, 4]
    b0, b1, b2, b3, b4, b5 = tab_b[0], tab_b[1], tab_b[2], tab_b[3], tab_b[4], tab_b[5]
    e0, e1, e2, e3, e4, e5, e6 = tab_e[0], tab_e[1], tab_e[2], tab_e[3], tab_e[4], tab_e[5], tab_e[6]
    k0[:] = f
    while t < t_bound:
        min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
        if h_abs < min_step:
            h_abs = min_step
        rejected = False
        while True:
            if h_abs < min_step:
                return -nfev, h_abs  # too small a step: the caller reports the failure
            t_new = t + h_abs
            full = True
            if t_new - t_bound > 0:
                t_new = t_bound
                full = False
            h = t_new - t
            h_abs = np.abs(h)
            # One RK step (scipy rk_step); each stage one pass over the compartments. Stages are read as rows of
            # one array K (not as views): the compiler then checks one pair of buffers for overlap, not eight,
            # and vectorises.
            for j in range(m):
                ys[j] = y[j] + h * (a10 * K[0, j])
            _rhs(ys2, k1_2, *p)
            for j in range(m):
                ys[j] = y[j] + h * (a20 * K[0, j] + a21 * K[1, j])
            _rhs(ys2, k2_2, *p)
            for j in range(m):
                ys[j] = y[j] + h * (a30 * K[0, j] + a31 * K[1, j] + a32 * K[2, j])
            _rhs(ys2, k3_2, *p)
            for j in range(m):
                ys[j] = y[j] + h * (a40 * K[0, j] + a41 * K[1, j] + a42 * K[2, j] + a43 * K[3, j])
            _rhs(ys2, k4_2, *p)
            for j in range(m):
                ys[j] = y[j] + h * (a50 * K[0, j] + a51 * K[1, j] + a52 * K[2, j] + a53 * K[3, j] + a54 * K[4, j])
            _rhs(ys2, k5_2, *p)
            for j in range(n):  # y_new, the cumulative counters included
                ys[j] = y[j] + h * (
                    b0 * K[0, j] + b1 * K[1, j] + b2 * K[2, j] + b3 * K[3, j] + b4 * K[4, j] + b5 * K[5, j]
                )
            _rhs(ys2, k6_2, *p)
            nfev += 6
            for j in range(m):
                e = (
                    e0 * K[0, j]
                    + e1 * K[1, j]
                    + e2 * K[2, j]
                    + e3 * K[3, j]
                    + e4 * K[4, j]
                    + e5 * K[5, j]
                    + e6 * K[6, j]
                )
                err[j] = e * h / (atol + max(abs(y[j]), abs(ys[j])) * rtol)
            error_norm = np.sqrt(_sum_squares(err, m) / m)
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
        y[:] = ys
        k0[:] = k6
    f[:] = k0
    return nfev, h_next


@njit(cache=True, fastmath=False)
def rk45_days(
    states,
    derivs,
    steps,
    fresh,
    atol,
    rtol,
    tab_a,
    tab_b,
    tab_e,
    dims,
    beta,
    susc,
    contacts,
    n_inv,
    rates,
    wanes,
    recovered_to,
):
    """Advance every member of an ensemble by one day, in place; return the right-hand-side calls of each.

    Parameters
    ----------
    states : ndarray, shape (n_member, n_state)
        State vectors, overwritten with the state at the end of the day.
    derivs : ndarray, shape (n_member, n_state)
        Right-hand side at each member's state, overwritten with the one at the end of the day.
    steps : ndarray, shape (n_member,)
        First step of each member (0: select it as ``solve_ivp``), overwritten with the step to start the
        next day with.
    fresh : ndarray of bool, shape (n_member,)
        ``derivs[k]`` already holds the right-hand side at ``states[k]`` under today's contacts (yesterday's
        last evaluation, when nothing changed the state or the contacts overnight): the day saves one.
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
    p_ = ns * na
    scratch = np.empty((5, p_))  # the right-hand side's scratch space, shared by all members
    work = np.empty((9, states.shape[1]))  # stages and step buffers, shared by all members
    susc_t = np.empty((nv, p_))
    wane_t = np.empty(p_)
    contacts_t = np.empty((na, na))
    for k in range(states.shape[0]):
        r = rates[k]
        contacts_t[:] = contacts[k].T
        for s in range(ns):  # per-stratum rates repeated over ages (see _rhs)
            for a in range(na):
                wane_t[s * na + a] = r[2] * wanes[k, s]
                for v in range(nv):
                    susc_t[v, s * na + a] = susc[k, v, s]
        p = (
            ns,
            na,
            nv,
            ke,
            ki,
            beta[k],
            susc_t,
            contacts_t,
            n_inv,
            r[0],
            r[1],
            wane_t,
            waned,
            recovered_to,
            scratch,
        )
        nfev, h = _day(states[k], derivs[k], steps[k], fresh[k], atol, rtol, tab_a, tab_b, tab_e, p, work)
        steps[k] = h
        out[k] = nfev
    return out
