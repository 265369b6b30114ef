"""Back-test the fit-and-forecast on the 2021 Delta wave in four southern provinces (pre-2025 areas).

Fits each province's reported cases up to each cutoff (weekly, through the rise and the peak), forecasts
1-4 weeks, and scores the forecasts and two naive baselines with scoringrules (WIS, 50%/90% coverage).

    python benchmarks/backtest_delta_2021.py [PROVINCE ...] [CUTOFF ...]  # adds to benchmarks/results/backtest_*.csv
    python benchmarks/backtest_delta_2021.py --table                # summarises them into docs/backtest_2021.md

Sampler settings are lighter than a planner's fit (see SAMPLER: 16 walkers x 1,200 steps, about 20,000 model
runs a fit) so that 16 fits finish in well under an hour on a 2-core machine; the table says which fits had
not converged. Run provinces in separate processes to use both cores.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from scenarios.calibration import read_fit, read_observed, shipped_observed, write_fit
from scenarios.calibration.backtest import backtest, score_table
from scenarios.config import load_config

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
PROVINCES = {
    "ho_chi_minh": "Ho Chi Minh City",
    "binh_duong": "Binh Duong",
    "dong_nai": "Dong Nai",
    "long_an": "Long An",
}
CUTOFFS = [dt.date(2021, 7, 12), dt.date(2021, 7, 26), dt.date(2021, 8, 9), dt.date(2021, 8, 23)]
SAMPLER = {
    "calibration.sampler.walkers": 16,
    "calibration.sampler.steps": 1200,
    "calibration.sampler.burn": 400,
    "calibration.sampler.optimizer_evaluations": 600,
}
DRAWS = 100
COLUMNS = ["province", "cutoff", "observed_first", "already_crossed", "p_cross_in_horizon", "predicted_median"]
COLUMNS += ["error_days"]


def run(key: str, cutoffs: list[dt.date]) -> None:
    """Back-test one province, adding its scores to its CSV after each cutoff (read them as it goes)."""
    config = load_config(ROOT / "configs" / f"{key}_2021_delta.toml", SAMPLER)
    observed = read_observed(shipped_observed(), PROVINCES[key])
    OUT.mkdir(parents=True, exist_ok=True)
    for cutoff in cutoffs:
        t0 = time.perf_counter()
        fits = FitFolder(key)
        table = backtest(config, observed, [cutoff], draws=DRAWS, fits=fits)
        crossing = table.attrs.pop("crossing").assign(province=key)
        for frame, path in (
            (table.assign(province=key), OUT / f"backtest_{key}.csv"),
            (crossing, OUT / f"backtest_{key}_crossing.csv"),
        ):
            frame.to_csv(path, mode="a", header=not path.exists(), index=False, float_format="%.6g")
        print(f"{key} {cutoff}: {time.perf_counter() - t0:.0f} s", flush=True)


class FitFolder(dict):
    """Fits of one province kept in ``benchmarks/results/fits/`` so that forecasts can be rescored."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        for path in sorted((OUT / "fits").glob(f"{key}_*")):
            self[dt.date.fromisoformat(path.name.rsplit("_", 1)[1])] = read_fit(path)

    def __setitem__(self, cutoff: dt.date, post: object) -> None:
        path = OUT / "fits" / f"{self.key}_{cutoff.isoformat()}"
        if not path.exists():
            write_fit(post, path)
        super().__setitem__(cutoff, post)


def markdown(df: pd.DataFrame) -> str:
    """Return a GitHub table (without the optional tabulate dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def summarise() -> str:
    tables = [pd.read_csv(p) for p in sorted(OUT.glob("backtest_*.csv")) if "crossing" not in p.name]
    scores = score_table(tables).round(3)
    crossing = pd.concat([pd.read_csv(p) for p in sorted(OUT.glob("backtest_*_crossing.csv"))], ignore_index=True)
    model = pd.concat(tables).query("method == 'model'")
    fits = model.drop_duplicates(["province", "cutoff"])
    lines = [
        markdown(scores.reset_index()),
        "",
        f"Fits: {len(fits)}; converged (R-hat <= 1.1, bulk ESS >= 50): {int(fits['converged'].sum())}; median "
        f"model runs per fit {fits['model_runs'].median():.0f}, wall time {fits['wall_seconds'].median():.0f} s.",
        "",
        markdown(crossing[COLUMNS]),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--table"]:
        print(summarise())
    else:
        dates = [dt.date.fromisoformat(a) for a in args if a[:1].isdigit()]
        for key in [a for a in args if not a[:1].isdigit()] or list(PROVINCES):
            run(key, dates or CUTOFFS)
