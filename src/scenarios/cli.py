"""The ``scenarios`` command: run and validate what-if configs from a terminal."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path

from . import __version__
from .calibration.observed import DataError
from .config import Config, ConfigError, load_config, parse_set
from .ensemble import summarise_crossings, sweep
from .export import export_series
from .indicators import crossings, threshold_set_of, write_crossings
from .plots import MIN_RUNS
from .policy import actions
from .report import REPORT_DIR, SIZES, ReportError, load_run, write_report
from .results import ResultsError, output_folder, write_csv, write_netcdf
from .simulate import prepare, run
from .summary import summary, sweep_summary

__all__ = ["main"]

# A replicate of a province-sized run holds tens of MB of results: beyond this the sweep cannot fit in memory.
MAX_REPLICATES = 10_000
# What a run writes into its output folder (replaced whole, see results.output_folder).
OUTPUTS = {
    "results.nc",
    "crossings.csv",
    "actions.csv",
    "crossings_summary.csv",
    "series.csv",
    "series.xlsx",
    REPORT_DIR,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scenarios",
        description="Epidemic surge planning: run new-variant what-ifs against provincial capacity.",
    )
    p.add_argument("--version", action="version", version=f"scenarios {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a config and write DIR/results.nc")
    r.add_argument("config", type=Path, help="what-if config file (TOML)")
    _allow_dir(r)
    r.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<config name>)")
    _set_argument(r, "override a config value, e.g. --set variants.new.immune_escape=0.5 (repeatable)")
    r.add_argument("--engine", choices=["seir", "abm"], default="seir", help="transmission engine")
    r.add_argument("--seed", type=_whole(0, 2**63 - 1), default=0, help="random seed (stochastic parts), >= 0")
    r.add_argument(
        "--replicates",
        type=_whole(1, MAX_REPLICATES),
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
    r.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the summary and report (default vi)")
    r.add_argument("--size", choices=SIZES, default=None, help="figure size of the report (default: A4 pages)")

    rp = sub.add_parser("report", help="write figures, tables and a PDF annex of a run into RUN_DIR/report/")
    rp.add_argument("run_dir", type=Path, help="folder written by 'scenarios run' (holds results.nc)")
    rp.add_argument("--lang", choices=["vi", "en"], default="vi", help="language (default vi)")
    rp.add_argument(
        "--dpi", type=_whole(20, 1200), default=300, help="resolution of the PNG figures, 20-1200 (default 300)"
    )
    rp.add_argument(
        "--size",
        choices=SIZES,
        default=None,
        help="figure size: whole A4 pages (default) or 'column', 16 cm wide for a Word page column",
    )

    ex = sub.add_parser("export", help="write the daily indicator series of a run as CSV or Excel")
    ex.add_argument("run_dir", type=Path, help="folder written by 'scenarios run' (holds results.nc)")
    ex.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="file format (default csv)")
    ex.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the headers (default vi)")

    a = sub.add_parser("app", help="open the web page for planners (local server, no Internet needed)")
    a.add_argument("config", type=Path, nargs="?", default=None, help="what-if config to open (optional)")
    a.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default 8501)")
    a.add_argument("--no-browser", action="store_true", help="serve only; do not open a browser")

    sw = sub.add_parser("sweep", help="run a sweep file into a Zarr store (resumable; local or Dask cluster)")
    sw.add_argument("sweep", type=Path, help="sweep file (TOML): base config, provinces, what-ifs, replicates")
    sw.add_argument("--out", type=Path, required=True, metavar="STORE", help="Zarr store; rerun to resume it")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_whole(1, 4096), metavar="N", help="start a local Dask cluster of N workers")
    where.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask cluster, e.g. tcp://host:8786")
    sw.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the national figure")
    sw.add_argument("--progress", action="store_true", help="show a progress bar")

    v = sub.add_parser("validate", help="check a config and print what it resolves to")
    v.add_argument("config", type=Path, help="what-if config file (TOML)")
    _allow_dir(v)
    _set_argument(v, "override a config value (repeatable)")
    v.add_argument("--show", action="store_true", help="print the resolved config, every default included (JSON)")
    f = sub.add_parser("fit", help="fit a config's [calibration] parameters to observed data; writes DIR/fit.nc")
    _observed_arguments(f)
    f.add_argument("--until", type=_date, default=None, help="last date used (YYYY-MM-DD); later data ignored")
    f.add_argument("--out", type=Path, required=True, help="output folder")
    f.add_argument("--progress", action="store_true", help="show progress bars")

    fc = sub.add_parser("forecast", help="forecast from a fit: quantiles and P(threshold crossed by date)")
    fc.add_argument("fit_dir", type=Path, help="folder written by 'scenarios fit'")
    fc.add_argument("--days", type=_whole(1, 3650), default=28, help="days after the last observed date (28)")
    fc.add_argument("--draws", type=_whole(1, 100_000), default=100, help="posterior draws run forward (100)")
    fc.add_argument("--engine", choices=["seir", "abm"], default="seir", help="transmission engine")
    fc.add_argument("--seed", type=_whole(0, 2**63 - 1), default=0, help="random seed")
    _set_argument(fc, "a what-if for the forecast, e.g. --set capacity.beds_oxygen=1300 (repeatable)")
    fc.add_argument("--out", type=Path, default=None, help="output folder (default FIT_DIR/forecast)")
    fc.add_argument("--progress", action="store_true", help="show a progress bar")
    b = sub.add_parser("backtest", help="fit at weekly cutoffs, forecast 1-4 weeks, score vs data and baselines")
    _observed_arguments(b)
    b.add_argument(
        "--cutoff", dest="cutoffs", type=_date, action="append", required=True, help="last date fitted (repeatable)"
    )
    b.add_argument("--weeks", type=_whole(1, 52), default=4, help="forecast horizons 1..N weeks (4)")
    b.add_argument("--draws", type=_whole(1, 100_000), default=100, help="posterior draws per forecast (100)")
    b.add_argument(
        "--out", type=Path, required=True, help="output folder: scores.csv and crossing.csv (replaced whole)"
    )
    b.add_argument("--progress", action="store_true", help="show progress bars")
    return p


def _backtest(args: argparse.Namespace) -> int:
    from .calibration.backtest import backtest, score_table, write_backtest

    table = backtest(
        args.config,
        args.data,
        args.cutoffs,
        area=args.area,
        to_2025=args.to_2025,
        weeks=args.weeks,
        draws=args.draws,
        progress=args.progress,
    )
    out = write_backtest(table, args.out)
    print(score_table([table]).to_string(float_format=lambda x: f"{x:.3g}"))
    print(f"  written: {out / 'scores.csv'}, {out / 'crossing.csv'}")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; allowed: YYYY-MM-DD") from None


def _fit(args: argparse.Namespace) -> int:
    from .calibration import fit, summary, write_fit

    post = fit(args.config, args.data, area=args.area, until=args.until, to_2025=args.to_2025, progress=args.progress)
    out = write_fit(post, args.out)
    print(summary(post).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    a = post.attrs
    print(f"  {a['convergence_note']}; acceptance {a['acceptance']:.2f}")
    print(
        f"  {a['model_runs']} model runs in {a['wall_seconds']:.0f} s; fit window {a['fit_from']} .. {a['fit_until']}"
    )
    print(f"  written: {out / 'fit.nc'}, {out / 'summary.csv'}")
    return 0


def _forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    from .calibration import forecast, read_fit, write_forecast

    post = read_fit(args.fit_dir)
    whatif = parse_set(args.overrides)
    fc = forecast(
        post, args.days, args.draws, engine=args.engine, seed=args.seed, progress=args.progress, whatif=whatif
    )
    out = write_forecast(fc, args.out or args.fit_dir / "forecast")
    # The probabilities just written (computing them again would repeat every draw's crossing table).
    last = pd.read_csv(out / "crossing_probability.csv", index_col=0).iloc[-1]
    print(f"forecast from {fc.attrs['forecast_from']}, {args.draws} draws, to {str(fc.time.values[-1])[:10]}")
    if not post.attrs["converged"]:
        print(f"  WARNING: {post.attrs['convergence_note']}")
    for name, p in last.items():
        print(f"  P({name} crossed by the end) = {p:.0%}")
    print(f"  written: {out}")
    print(f"  the same draws under other what-ifs: scenarios sweep {out / 'whatifs.toml'} --out DIR")
    return 0


def _set_argument(p: argparse.ArgumentParser, help: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` (read by :func:`scenarios.config.parse_set`)."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def _observed_arguments(p: argparse.ArgumentParser) -> None:
    """Add the config and observed-data arguments shared by ``fit`` and ``backtest``."""
    p.add_argument("config", type=Path, help="what-if config file (TOML) with a [calibration] section")
    p.add_argument("--data", type=Path, required=True, help="observed CSV: date, variable, value[, area]")
    p.add_argument("--area", default=None, help="area to read when the CSV holds several")
    p.add_argument("--to-2025", action="store_true", help="read --area as a 2025 province; sum merged provinces")


def _allow_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also read files named by extends / thresholds.set from DIR (default: the config's folder tree)",
    )


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.config, parse_set(args.overrides), allowed_dirs=args.allow_dir)


def _whole(low: int, high: int):
    """Argparse type: a whole number in ``[low, high]`` (a clear usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = None
        if n is None or not low <= n <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high:,}, got {text!r}")
        return n

    return parse


def _parse_vary(items: list[str]) -> dict[str, tuple[float, float]]:
    """Parse ``--vary KEY=LOW:HIGH`` items (bounds are TOML numbers; two whole numbers draw whole numbers)."""
    out = {}
    for item in items:
        key, _, bounds = item.partition("=")
        parts = parse_set([f"lo={bounds.partition(':')[0]}", f"hi={bounds.partition(':')[2]}"])
        lo, hi = parts["lo"], parts["hi"]
        numbers = all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in (lo, hi))
        if not key.strip() or ":" not in bounds or not numbers or lo > hi:
            raise ConfigError(
                [
                    f"--vary {item!r}: expected KEY=LOW:HIGH with finite numbers LOW <= HIGH, "
                    "e.g. variants.new.immune_escape=0.4:0.8"
                ]
            )
        out[key.strip()] = (lo, hi)
    return out


def _run_sweep(args: argparse.Namespace) -> int:
    """``run`` with ``--replicates N > 1`` or ``--vary``: one results.nc with a replicate dim."""
    config = _load(args)
    vary = _parse_vary(args.vary)
    if args.report and args.replicates < MIN_RUNS:
        raise ReportError(
            f"--report with --replicates draws uncertainty bands, which need at least {MIN_RUNS} runs "
            f"(got --replicates {args.replicates})"
        )
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
        write_csv(summary_table, tmp / "crossings_summary.csv")
        if args.report:
            write_report(tmp, lang=args.lang, ds=ds, size=args.size)
    written = [out / "results.nc", out / "crossings.csv", out / "crossings_summary.csv"]
    print(sweep_summary(ds, summary_table, seed=args.seed, lang=args.lang))
    print(f"  written: {', '.join(str(p) for p in written)}")
    if args.report:
        print(f"  report: {out / REPORT_DIR / args.lang}")
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
        write_csv(actions(ds), tmp / "actions.csv")
        if args.report:
            write_report(tmp, lang=args.lang, ds=ds, size=args.size)
    print(summary(ds, table, lang=args.lang))
    print(f"  written: {', '.join(str(out / n) for n in ('results.nc', 'crossings.csv', 'actions.csv'))}")
    if args.report:
        print(f"  report: {out / REPORT_DIR / args.lang}")
    return 0


def _report(args: argparse.Namespace) -> int:
    print(f"report: {write_report(args.run_dir, lang=args.lang, dpi=args.dpi, size=args.size)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    print(f"export: {export_series(load_run(args.run_dir), args.run_dir, fmt=args.format, lang=args.lang)}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .distributed import dask_client, run_sweep, summarise_store
    from .national import write_national
    from .results import open_zarr_store, write_atomic
    from .sweepfile import load_sweep

    spec = load_sweep(args.sweep)
    total = math.prod(spec.shape)
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


def _app(args: argparse.Namespace) -> int:
    from .app import launch  # the web framework is an optional extra: import it only for this command

    return launch(port=args.port, open_browser=not args.no_browser, config=args.config)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scenarios`` command; returns the exit code (2 for a bad config)."""
    args = _parser().parse_args(argv)
    try:
        commands = {"run": _run, "validate": _validate, "report": _report, "export": _export, "app": _app}
        commands |= {"fit": _fit, "forecast": _forecast, "backtest": _backtest, "sweep": _sweep}
        return commands[args.command](args)
    except ConfigError as e:
        print("error: the config cannot be used:", file=sys.stderr)
        for line in e.problems:
            print(f"  {line}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ReportError, ResultsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename or ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: not enough memory for this run (fewer --replicates, a larger abm.pop_scale)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
