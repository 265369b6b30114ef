"""Compartmental model speed: today's path (scipy) vs the compiled path vs batched runs, one core.

Usage::

    python benchmarks/seir_speed.py                   # An Giang new variant, 180 days, 1,000 draws
    python benchmarks/seir_speed.py --draws 200 --repeat 3
    python benchmarks/seir_speed.py --baseline benchmarks/results/old/src   # an older tree, same invocation

Each measurement runs in its own subprocess on one thread (``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` = 1), after a warm-up call (numba compiles once and caches on disk), and reports CPU
seconds (``time.process_time``: less sensitive than wall time to other programs sharing the cores), wall
seconds, and peak resident memory above what the process held after imports and warm-up
(``getrusage(RUSAGE_SELF).ru_maxrss``). Ratios are against today's path measured in the same invocation.

Rows:

- ``scipy (today)``: ``scenarios.run(cfg, solver="scipy")``, the reference path.
- ``compiled``: ``scenarios.run(cfg, solver="compiled")``, one run at a time.
- ``batched K``: ``run_batch(cfg, draws)`` with K draws of four parameters (new-variant immune escape and
  transmissibility, resident Rt, ascertainment), the whole daily loop advanced together.

Then a fit's model evaluations: ``run_batch(..., outputs="transmission")`` on the Ho Chi Minh City 2021 config
with its weekly Rt knots, in batches of one optimiser call (parameters + 1 draws) and of ``--draws``.

Then the cost of one compiled run against the horizon (90, 180, 360 days), and the cost of the integrator
alone against the number of age groups (the shipped configs have 9; the integrator is called on synthetic
arrays with 9, 18, 36 and 72 bands, since the care module and results are fixed at 9).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "an_giang_new_variant.toml"
FIT_CONFIG = ROOT / "configs" / "ho_chi_minh_2021_delta.toml"
ONE_THREAD = {k: "1" for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

_PRELUDE = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    import scenarios
    from scenarios.simulate import run, run_batch
    cfg = scenarios.load_config(sys.argv[1], overrides={"scenario.horizon_days": int(sys.argv[2])})
    def draws(k):
        rng = np.random.default_rng(1)
        return {
            "variants.new.immune_escape": rng.uniform(0.4, 0.8, k),
            "variants.new.transmissibility_multiplier": rng.uniform(1.3, 1.9, k),
            "variants.resident.rt_start": rng.uniform(0.9, 1.1, k),
            "reporting.ascertainment": rng.uniform(0.1, 0.4, k),
        }
""")

_SINGLE = _PRELUDE + textwrap.dedent("""
    solver, repeat = sys.argv[3], int(sys.argv[4])
    run(cfg, solver=solver)  # warm-up: numba loads its cached machine code
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        run(cfg, solver=solver)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"runs": repeat, "cpu": cpu, "wall": wall, "mem_kb": peak - base}))
""")

_BATCH = _PRELUDE + textwrap.dedent("""
    k = int(sys.argv[3])
    run_batch(cfg, {key: v[:2] for key, v in draws(2).items()})  # warm-up
    d = draws(k)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0, w0 = time.process_time(), time.perf_counter()
    run_batch(cfg, d)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c1 = time.process_time()
    from scenarios.draws import member_configs
    member_configs(cfg, d)
    print(json.dumps({"runs": k, "cpu": cpu, "wall": wall, "mem_kb": peak - base,
                      "validate_cpu": time.process_time() - c1}))
""")

_FIT = textwrap.dedent("""
    import datetime as dt, json, sys, time
    import numpy as np
    import scenarios
    from scenarios.simulate import run_batch
    from scenarios.calibration.model import Parameters, base_config, knot_dates
    # rt_damping acts in forecasts only; set to a value every tree accepts (older ones required > 0).
    cfg = scenarios.load_config(sys.argv[1], overrides={"calibration.rt_damping": 0.5})
    cal, start = cfg.calibration, cfg.scenario.start_date
    end = start + dt.timedelta(days=cfg.scenario.horizon_days - 1)
    knots = knot_dates(cal, start, end)
    base = base_config(cfg, end, knots)  # what every draw of a fit starts from: one multiplier per Rt knot
    params = Parameters.of(cal, len(knots))
    k, repeat = int(sys.argv[2]) or len(params.names) + 1, int(sys.argv[3])
    def draws(seed):  # values near the prior's centre, as an optimiser's or a sampler's batch
        rng = np.random.default_rng(seed)
        theta = params.prior_mean + 0.3 * params.prior_sd * rng.standard_normal((k, len(params.names)))
        return params.draws(base, params.natural(theta))
    run_batch(base, draws(0), outputs="transmission")  # warm-up
    batches = [draws(s + 1) for s in range(repeat)]
    c0, w0 = time.process_time(), time.perf_counter()
    for d in batches:
        run_batch(base, d, outputs="transmission")
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(json.dumps({"runs": k * repeat, "k": k, "cpu": cpu, "wall": wall, "days": base.scenario.horizon_days,
                      "knots": len(knots), "params": len(params.names)}))
""")

_AGES = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from scenarios.engines import _seir_kernels as kern
    from scenarios.engines.seir import _TABLEAU
    na, members, days = int(sys.argv[1]), 40, 60
    rng = np.random.default_rng(0)
    ns, nv, ke, ki = 6, 2, 2, 2
    n = ns * na + nv * (ke + ki) * ns * na + 2 * nv * ns * na
    sizes = rng.uniform(1e5, 5e5, na)
    c = rng.uniform(0.2, 2.0, (na, na)) * 13 / na
    c = (c * sizes[:, None] + (c * sizes[:, None]).T) / 2 / sizes[:, None]  # reciprocal
    y = np.zeros((members, n))
    y[:, : ns * na] = np.tile(sizes / ns, ns)
    y[:, ns * na : ns * na + ns * na] += 10.0  # a few latent infections
    args = dict(dims=np.array([ns, na, nv, ke, ki, 5]), beta=np.full((members, nv), 0.12 * 9 / na * na / 9),
                susc=np.ones((members, nv, ns)), contacts=np.repeat(c[None], members, 0), n_inv=1 / sizes,
                rates=np.tile([2 / 4.6, 2 / 2.1, 1.0], (members, 1)), wanes=np.full((members, ns), 1 / 180),
                recovered_to=np.array([3, 4]))
    derivs = np.zeros_like(y)  # the last right-hand side of each member, reused the next day (as the engine)
    old = kern.rk45_days.py_func.__code__.co_argcount == 15  # a tree before that reuse (--baseline)
    def day(state, steps):
        lead = (state, steps) if old else (state, derivs, steps, steps > 0)
        return kern.rk45_days(*lead, 1e-9 * sizes.sum() / n, 1e-8, *_TABLEAU,
                              args["dims"], args["beta"], args["susc"], args["contacts"], args["n_inv"],
                              args["rates"], args["wanes"], args["recovered_to"])
    day(y.copy(), np.zeros(members))
    steps = np.zeros(members)  # each day starts with the step the previous one proposed, as the engine
    c0 = time.process_time()
    nfev = 0
    for _ in range(days):
        nfev += day(y, steps).mean()
    cpu = time.process_time() - c0
    print(json.dumps({"na": na, "n_state": n, "us_per_member_day": cpu / members / days * 1e6,
                      "rhs_per_day": nfev / days}))
""")


def _sub(code: str, *args: str, src: str | None = None) -> dict:
    env = {**os.environ, **ONE_THREAD}
    if src:  # another source tree of scenarios (e.g. a release, from `git archive`) ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    if out.returncode != 0:
        sys.exit(f"benchmark subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def main(argv: list[str] | None = None) -> None:
    """Print the tables (markdown)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5, help="single runs timed per path")
    ap.add_argument(
        "--baseline",
        metavar="SRC",
        help="also time the compiled and batched paths of another source tree (its `src` folder, e.g. "
        "`git archive COMMIT src | tar -x -C benchmarks/results/old` gives benchmarks/results/old/src), in the same "
        "invocation",
    )
    a = ap.parse_args(argv)

    loads = [_load()]
    rows = [
        ("scipy (today)", _sub(_SINGLE, a.config, str(a.days), "scipy", str(max(1, a.repeat // 2)))),
        ("compiled", _sub(_SINGLE, a.config, str(a.days), "compiled", str(a.repeat))),
        (f"batched {a.draws}", _sub(_BATCH, a.config, str(a.days), str(a.draws))),
    ]
    if a.baseline:
        rows += [
            ("compiled, baseline", _sub(_SINGLE, a.config, str(a.days), "compiled", str(a.repeat), src=a.baseline)),
            (f"batched {a.draws}, baseline", _sub(_BATCH, a.config, str(a.days), str(a.draws), src=a.baseline)),
        ]
    loads.append(_load())
    ref = rows[0][1]["runs"] / rows[0][1]["cpu"]
    print(f"config {Path(a.config).name}, {a.days} days, one thread; load average (1 min) {' -> '.join(loads)}")
    print("| path | runs | runs/s (CPU) | runs/s (wall) | x today (CPU) | peak memory above baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        rate = r["runs"] / r["cpu"]
        print(
            f"| {name} | {r['runs']} | {rate:.1f} | {r['runs'] / r['wall']:.1f} | {rate / ref:.1f} | "
            f"{r['mem_kb'] / 1024:.0f} MB |"
        )
    batch = rows[2][1]
    print(
        f"\nvalidating the {batch['runs']} draws (member_configs): {batch['validate_cpu']:.2f} s CPU "
        "(included in the batched time)"
    )

    fits = [("fit batch", _sub(_FIT, str(FIT_CONFIG), "0", "20"))]
    fits.append(("fit batch", _sub(_FIT, str(FIT_CONFIG), str(a.draws), "1")))
    if a.baseline:
        fits.append(("fit batch, baseline", _sub(_FIT, str(FIT_CONFIG), "0", "20", src=a.baseline)))
        fits.append(("fit batch, baseline", _sub(_FIT, str(FIT_CONFIG), str(a.draws), "1", src=a.baseline)))
    r = fits[0][1]
    print(
        f"\nfit evaluation: `run_batch(outputs='transmission')` on {FIT_CONFIG.name} with its {r['knots']} Rt knots "
        f"({r['params']} parameters), {r['days']} days; K = {r['k']} is one batch of the optimiser"
    )
    print("| path | K | runs | runs/s (CPU) | runs/s (wall) | ms CPU per run |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in fits:
        rate = r["runs"] / r["cpu"]
        print(f"| {name} | {r['k']} | {r['runs']} | {rate:.0f} | {r['runs'] / r['wall']:.0f} | {1000 / rate:.2f} |")

    print("\n| horizon (days) | compiled runs/s (CPU) | ms per run per day |")
    print("|---:|---:|---:|")
    for days in (90, 180, 360):
        r = _sub(_SINGLE, a.config, str(days), "compiled", str(a.repeat))
        rate = r["runs"] / r["cpu"]
        print(f"| {days} | {rate:.1f} | {1000 / rate / days:.3f} |")

    print("\n| age groups | state size | RHS calls/day | integrator us per member-day (CPU) |")
    print("|---:|---:|---:|---:|")
    for na in (9, 18, 36, 72):
        r = _sub(_AGES, str(na))
        print(f"| {na} | {r['n_state']} | {r['rhs_per_day']:.0f} | {r['us_per_member_day']:.1f} |")
    if a.baseline:
        for na in (9, 72):
            r = _sub(_AGES, str(na), src=a.baseline)
            print(f"| {na}, baseline | {r['n_state']} | {r['rhs_per_day']:.0f} | {r['us_per_member_day']:.1f} |")


if __name__ == "__main__":
    main()
