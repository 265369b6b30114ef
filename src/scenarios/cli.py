"""The ``scenarios`` command: run and validate what-if configs from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .config import Config, ConfigError, load_config, parse_set
from .ensemble import summarise_crossings, sweep
from .indicators import crossings, format_crossings, threshold_set_of, write_crossings
from .policy import actions
from .report import REPORT_DIR, ReportError, key_numbers, write_report
from .results import ResultsError, output_folder, write_atomic, write_netcdf
from .simulate import prepare, run

__all__ = ["main"]

# What a run writes into its output folder (replaced whole, see results.output_folder).
OUTPUTS = {"results.nc", "crossings.csv", "actions.csv", "crossings_summary.csv", REPORT_DIR}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scenarios",
        description="Epidemic surge planning: run new-variant what-ifs against provincial capacity.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a config and write DIR/results.nc")
    r.add_argument("config", type=Path, help="what-if config file (TOML)")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<config name>)")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set variants.new.immune_escape=0.5 (repeatable)",
    )
    r.add_argument("--engine", choices=["seir", "abm"], default="seir", help="transmission engine")
    r.add_argument("--seed", type=int, default=0, help="random seed (stochastic parts)")
    r.add_argument(
        "--replicates",
        type=_positive_int,
        default=1,
        metavar="N",
        help="N runs, seeds spawned from --seed; N > 1 (or --vary) writes results.nc with a "
        "replicate dim, crossings.csv by replicate and crossings_summary.csv",
    )
    r.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH",
        help="draw KEY uniformly in [LOW, HIGH] for each replicate, e.g. "
        "--vary variants.new.immune_escape=0.4:0.8 (repeatable)",
    )
    r.add_argument("--progress", action="store_true", help="show a progress bar")
    r.add_argument("--report", action="store_true", help="also write the annex bundle into DIR/report/")
    r.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the report (default vi)")

    rp = sub.add_parser("report", help="write figures, tables and a PDF annex of a run into RUN_DIR/report/")
    rp.add_argument("run_dir", type=Path, help="folder written by 'scenarios run' (holds results.nc)")
    rp.add_argument("--lang", choices=["vi", "en"], default="vi", help="language (default vi)")
    rp.add_argument("--dpi", type=int, default=300, help="resolution of the PNG figures (default 300)")

    sw = sub.add_parser("sweep", help="run a sweep file into a Zarr store (resumable; local or Dask cluster)")
    sw.add_argument("sweep", type=Path, help="sweep file (TOML): base config, provinces, what-ifs, replicates")
    sw.add_argument("--out", type=Path, required=True, metavar="STORE", help="Zarr store; rerun to resume it")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N", help="start a local Dask cluster of N workers")
    where.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask cluster, e.g. tcp://host:8786")
    sw.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the national figure")
    sw.add_argument("--progress", action="store_true", help="show a progress bar")

    v = sub.add_parser("validate", help="check a config and print what it resolves to")
    v.add_argument("config", type=Path, help="what-if config file (TOML)")
    v.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable)",
    )
    v.add_argument("--show", action="store_true", help="print the resolved config, every default included (JSON)")
    return p


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.config, parse_set(args.overrides))


def summary(ds: xr.Dataset, crossings_table: pd.DataFrame | None = None) -> str:
    """Describe a run in a few lines a planner reads first: threshold crossings, then the epidemic."""
    table = crossings(ds) if crossings_table is None else crossings_table
    total = ds["new_infections"].sum("age_group")
    reported = ds["new_reported_cases"].sum("age_group")
    peak = int(total.argmax("time"))
    pop = ds.attrs["population_total"]
    lines = [
        f"{ds.attrs['scenario_name']} — {ds.attrs['area_name']} ({pop:,.0f} people), engine {ds.attrs['engine']}",
        format_crossings(table),
        f"  infections (reinfections included): {float(total.sum()):,.0f} "
        f"({float(total.sum()) / pop:.1%} of the population), "
        f"peak {float(total[peak]):,.0f}/day on {str(ds.time.values[peak])[:10]}",
        f"  reported cases: {float(reported.sum()):,.0f}",
    ]
    if "census_icu" in ds:
        lines += _care_lines(key_numbers(ds, table).set_index("key"))
    return "\n".join(lines)


def _care_lines(k: pd.DataFrame) -> list[str]:
    def at(key: str) -> str:
        return str(k.loc[key, "date"])[:10]

    v = k["value"]
    return [
        f"  peak oxygen demand: {v['peak_oxygen_demand_m3_per_day']:,.0f} m3/day "
        f"({v['peak_oxygen_demand_cylinders_per_day']:,.0f} cylinders/day) on {at('peak_oxygen_demand_m3_per_day')}, "
        f"supply {v['oxygen_supply_at_peak_m3_per_day']:,.0f} m3/day",
        f"  peak ICU need: {v['peak_icu_need']:,.0f} patients on {at('peak_icu_need')}, "
        f"{v['icu_staffed_at_peak']:,.0f} staffed ICU beds",
        f"  peak oxygen-bed need: {v['peak_oxygen_bed_need']:,.0f} patients on {at('peak_oxygen_bed_need')}, "
        f"{v['oxygen_beds_at_peak']:,.0f} oxygen beds",
        f"  deaths: {v['deaths']:,.0f}, of which without the care they needed: {v['deaths_without_care']:,.0f}",
    ]


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return n


def _parse_vary(items: list[str]) -> dict[str, tuple[float, float]]:
    """Parse ``--vary KEY=LOW:HIGH`` items (bounds are TOML numbers; two whole numbers draw whole numbers)."""
    out = {}
    for item in items:
        key, _, bounds = item.partition("=")
        parts = parse_set([f"lo={bounds.partition(':')[0]}", f"hi={bounds.partition(':')[2]}"])
        lo, hi = parts["lo"], parts["hi"]
        numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi))
        if not key.strip() or ":" not in bounds or not numbers or lo > hi:
            raise ConfigError(
                [
                    f"--vary {item!r}: expected KEY=LOW:HIGH with numbers LOW <= HIGH, "
                    "e.g. variants.new.immune_escape=0.4:0.8"
                ]
            )
        out[key.strip()] = (lo, hi)
    return out


def _run_sweep(args: argparse.Namespace) -> int:
    """``run`` with ``--replicates N > 1`` or ``--vary``: one results.nc with a replicate dim."""
    config = _load(args)
    vary = _parse_vary(args.vary)
    if args.report:
        raise ReportError("--report draws one run; it cannot be combined with --replicates > 1 or --vary")
    out = args.out or Path("runs") / args.config.stem
    ds = sweep(
        config,
        vary=vary,
        replicates=args.replicates,
        engine=args.engine,
        seed=args.seed,
        progress=args.progress,
    )
    table, summary_table = crossings(ds), summarise_crossings(ds)
    with output_folder(out, OUTPUTS) as tmp:
        write_netcdf(ds, tmp / "results.nc")
        write_crossings(table, tmp / "crossings.csv")
        write_atomic(
            tmp / "crossings_summary.csv",
            lambda path: summary_table.to_csv(path, index=False, date_format="%Y-%m-%d"),
        )
    written = [out / "results.nc", out / "crossings.csv", out / "crossings_summary.csv"]
    n = ds.sizes["replicate"]
    print(
        f"{ds.attrs['scenario_name']} — {ds.attrs['area_name']} ({ds.attrs['population_total']:,.0f} "
        f"people), engine {ds.attrs['engine']}, {n} replicates (seed {args.seed})"
    )
    print("surge-plan thresholds: runs crossing within the horizon; first date 5% / 50% / 95% of runs")
    for _, r in summary_table[summary_table["kind"] != "level"].iterrows():
        dates = ", ".join(
            "after the horizon" if pd.isna(r[f"first_date_{q}"]) else f"{r[f'first_date_{q}']:%Y-%m-%d}"
            for q in ("q5", "q50", "q95")
        )
        print(f"  {r['criterion']:<16} {r['crossed']}/{n}  {dates}")
    print(f"  written: {', '.join(str(p) for p in written)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.replicates > 1 or args.vary:
        return _run_sweep(args)
    config = _load(args)
    out = args.out or Path("runs") / args.config.stem
    ds = run(config, engine=args.engine, seed=args.seed, progress=args.progress)
    table = crossings(ds)
    with output_folder(out, OUTPUTS) as tmp:  # the whole set replaces the earlier one at once
        write_netcdf(ds, tmp / "results.nc")
        write_crossings(table, tmp / "crossings.csv")
        write_atomic(tmp / "actions.csv", lambda path: actions(ds).to_csv(path, index=False, date_format="%Y-%m-%d"))
        if args.report:
            write_report(tmp, lang=args.lang, ds=ds)
    print(summary(ds, table))
    print(f"  written: {', '.join(str(out / n) for n in ('results.nc', 'crossings.csv', 'actions.csv'))}")
    if args.report:
        print(f"  report: {out / REPORT_DIR}")
    return 0


def _report(args: argparse.Namespace) -> int:
    print(f"report: {write_report(args.run_dir, lang=args.lang, dpi=args.dpi)}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .distributed import dask_client, run_sweep, summarise_store
    from .national import write_national
    from .results import open_zarr_store, write_atomic
    from .sweepfile import load_sweep

    spec = load_sweep(args.sweep)
    total = int(np.prod(spec.shape))
    bar = tqdm(total=total, disable=not args.progress, desc="sweep", unit="cell")
    try:
        with dask_client(args.workers, args.scheduler) as client:
            report = run_sweep(spec, args.out, client=client, on_cell=lambda _i, _s: bar.update())
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: {args.out} keeps the finished cells; rerun the same command to finish", file=sys.stderr)
        return 130
    bar.close()
    summary_table = summarise_store(args.out)
    prefix = args.out.with_suffix("")
    written = [args.out]
    if not summary_table.empty:
        written.append(
            write_atomic(
                prefix.with_name(prefix.name + "_summary.csv"),
                lambda tmp: summary_table.to_csv(tmp, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d"),
            )
        )
        written += write_national(summary_table, open_zarr_store(args.out).attrs, prefix, lang=args.lang)
    print(
        f"{spec.name}: {report.cells} cells ({len(spec.areas)} provinces x {len(spec.whatifs)} what-ifs x "
        f"{spec.replicates} replicates); ran {report.ran}, already in the store {report.skipped}, "
        f"failed {report.failed}, lost {report.lost}"
    )
    if report.failed:
        print("  failed cells keep their message in the store's cell_error")
    print(f"  written: {', '.join(str(p) for p in written)}")
    if report.lost:
        print(
            f"error: {report.lost} cells lost their workers repeatedly; rerun the same command to run them",
            file=sys.stderr,
        )
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    config = _load(args)
    threshold_set_of(config)  # also checks the threshold set file, policy triggers and surge steps
    prepare(config)  # and what the schema cannot: e.g. an Rt that no transmission rate reaches
    s = config.scenario
    print(f"{args.config}: valid — '{s.name}', {s.start_date} to {s.end_date} ({s.horizon_days} days)")
    if args.show:
        print(config.model_dump_json(indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scenarios`` command; returns the exit code (2 for a bad config)."""
    args = _parser().parse_args(argv)
    try:
        return {"run": _run, "validate": _validate, "report": _report, "sweep": _sweep}[args.command](args)
    except ConfigError as e:
        print("error: the config cannot be used:", file=sys.stderr)
        for line in e.problems:
            print(f"  {line}", file=sys.stderr)
        return 2
    except (ReportError, ResultsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename or ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
