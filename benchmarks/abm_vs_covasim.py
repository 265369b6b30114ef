"""Agent-based engine vs Covasim 4.0.1: agent-days per second and peak memory, same size, horizon, variant.

Usage::

    python benchmarks/abm_vs_covasim.py                  # 100,000 and 500,000 agents, 180 days
    python benchmarks/abm_vs_covasim.py --agents 3700000 --skip-covasim

Covasim 4.0.1 needs Python <= 3.11; it is installed with pip into ``benchmarks/.venv-covasim`` (git-ignored)
on the first run, from ``--python`` (default: pyenv's 3.11.7, else ``python3.11`` on PATH). Each run happens
in
its own subprocess, which reports its wall time (population building included) and its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and its resident memory after imports, before building.

Scenario on both sides: a Vietnam-like age structure, a resident variant with R0 about 2.5 seeded with 20
infections on day 0, and a new variant (Covasim's ``delta`` preset; ours 2.2x transmissible with 30% immune
escape) imported from day 30, 10 a day for 10 days, 180 days. Covasim uses its ``hybrid`` population (the one
with households, schools and workplaces); ours the layered population of :mod:`scenarios.synthpop`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-covasim"

_PRELUDE = textwrap.dedent("""
    import json, resource, sys, time
    def rss_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    N, DAYS = int(sys.argv[1]), int(sys.argv[2])
""")

COVASIM = _PRELUDE + textwrap.dedent("""
    import covasim as cv
    cv.options.set(verbose=0, show=False)
    base = rss_kb()
    t0 = time.perf_counter()
    sim = cv.Sim(pop_size=N, pop_type="hybrid", n_days=DAYS, pop_infected=20, location="vietnam",
                 variants=cv.variant("delta", days=30, n_imports=10), rand_seed=1, verbose=0)
    sim.initialize()
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    print(json.dumps({"build_s": t1 - t0, "run_s": t2 - t1, "base_kb": base,
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "infections": float(sim.results["cum_infections"][-1])}))
""")

OURS = _PRELUDE + textwrap.dedent("""
    import numpy as np
    import scenarios
    from scenarios.config import Config
    from scenarios.disease import build_disease
    from scenarios.engines.abm import AgentBasedEngine
    from scenarios.engines.base import DayInputs
    from scenarios.population import build_population
    from scenarios.simulate import contact_multipliers, imported_infections
    base = rss_kb()
    cfg = Config.model_validate({
        "scenario": {"name": "benchmark", "start_date": "2025-01-01", "horizon_days": DAYS},
        "population": {"total": N},
        "variants": {"resident": {"r0": 2.5, "initial_infections": 20},
                     "new": {"transmissibility_multiplier": 2.2, "immune_escape": 0.3,
                             "introduction_date": "2025-01-31", "imported_per_day": 10, "import_days": 10}},
    })
    t0 = time.perf_counter()
    if "--engine-only" in sys.argv:
        pop = build_population(cfg.population)
        dis = build_disease(cfg, pop, contact_multipliers(cfg, cfg.scenario.start_date))
        eng = AgentBasedEngine(cfg, pop, dis, np.random.default_rng(1))
        t1 = time.perf_counter()
        total = 0.0
        for day in range(DAYS):
            flows = eng.step(DayInputs(day, contact_multipliers(cfg, cfg.scenario.start_date),
                                       imported_infections(cfg, pop, day), np.zeros(len(pop.sizes))))
            total += flows.new_infections.sum()
    else:
        ds = scenarios.run(cfg, engine="abm", seed=1)
        t1 = t0
        total = float(ds.new_infections.sum())
    t2 = time.perf_counter()
    print(json.dumps({"build_s": t1 - t0, "run_s": t2 - t1, "base_kb": base,
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "infections": total}))
""")


def covasim_python(python: str | None) -> Path:
    """The venv's interpreter, creating the venv with covasim 4.0.1 on first use."""
    exe = VENV / "bin" / "python"
    if exe.exists():
        return exe
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11"))  # a pyenv install, if any
    base = python or (str(pyenv[-1]) if pyenv else shutil.which("python3.11"))
    if base is None:
        sys.exit("Covasim 4.0.1 needs Python 3.11: pass --python /path/to/python3.11")
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(exe), "-m", "pip", "install", "-q", "covasim==4.0.1"], check=True)
    return exe


def measure(python: Path | str, code: str, n: int, days: int, *extra: str) -> dict:
    """Run ``code`` in a fresh interpreter; return its JSON report plus wall time and agent-days/s."""
    out = subprocess.run(
        [str(python), "-c", code, str(n), str(days), *extra],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    rep["wall_s"] = rep["build_s"] + rep["run_s"]
    rep["agent_days_per_s"] = n * days / rep["wall_s"]
    rep["bytes_per_agent"] = (rep["peak_kb"] - rep["base_kb"]) * 1024 / n
    return rep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--python", help="Python 3.11 used to create the Covasim venv")
    parser.add_argument("--skip-covasim", action="store_true")
    args = parser.parse_args()
    cv_python = None if args.skip_covasim else covasim_python(args.python)
    rows = []
    for n in args.agents:
        ours = measure(sys.executable, OURS, n, args.days)
        ours_engine = measure(sys.executable, OURS, n, args.days, "--engine-only")
        cov = measure(cv_python, COVASIM, n, args.days) if cv_python else None
        rows.append((n, ours, ours_engine, cov))
    head = (
        f"{'agents':>9} {'model':<28} {'build s':>7} {'wall s':>7} {'agent-days/s':>13} "
        f"{'peak RSS MB':>11} "
        f"{'B/agent':>8} {'infections':>11}"
    )
    print(f"{args.days} days, new-variant scenario (see docstring)\n{head}\n{'-' * len(head)}")
    for n, ours, eng, cov in rows:
        for name, r in (
            ("scenarios abm (scenarios.run)", ours),
            ("  engine only (build+steps)", eng),
            ("covasim 4.0.1 hybrid+delta", cov),
        ):
            if r is None:
                continue
            print(
                f"{n:>9,} {name:<28} {r['build_s']:>7.2f} {r['wall_s']:>7.2f} "
                f"{r['agent_days_per_s'] / 1e6:>11.1f} M "
                f"{r['peak_kb'] / 1024:>11.0f} {r['bytes_per_agent']:>8.0f} {r['infections']:>11,.0f}"
            )
        if cov is not None:
            print(
                f"{'':>9} {'ratio ours/covasim':<28} {'':>7} {'':>7} "
                f"{ours['agent_days_per_s'] / cov['agent_days_per_s']:>11.1f} x "
                f"{ours['peak_kb'] / cov['peak_kb']:>11.2f} "
                f"{ours['bytes_per_agent'] / cov['bytes_per_agent']:>8.2f}"
            )


if __name__ == "__main__":
    main()
