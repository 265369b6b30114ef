"""Choose the forecast's settings of Rt on provinces that the back-test does not score.

Two settings of the forecast (the fit depends on neither): the damping of log Rt (``rt_damping``, chosen by
mean WIS) and the sd of its future steps (``forecast_rt_step_sd``, chosen as the value whose 50% and 90%
intervals cover closest to nominal, at the chosen damping).

Fits Tiền Giang and Tây Ninh (and Cần Thơ, Khánh Hòa when time allows; pre-2025 provinces, 2021 Delta wave)
at the back-test's cutoffs with the back-test's config and sampler, forecasts each fit with several dampings
(the fit does not depend on it) and scores weekly reported cases 1-4 weeks ahead (mean WIS). The four scored
provinces are never used here. Fits are kept in ``benchmarks/results/fits/`` so the settings can be rescored.

    python benchmarks/tune_damping_2021.py [PROVINCE ...]            # writes benchmarks/results/damping_*.csv
    python benchmarks/tune_damping_2021.py --spread [PROVINCE ...]   # writes benchmarks/results/spread_*.csv
    python benchmarks/tune_damping_2021.py --table                   # scores by damping and by spread
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from scenarios.calibration import read_observed, shipped_observed
from scenarios.calibration.backtest import score_forecast, week_end
from scenarios.calibration.fit import fit
from scenarios.calibration.forecast import forecast
from scenarios.config import load_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest_delta_2021 import CUTOFFS, DRAWS, OUT, ROOT, SAMPLER, FitFolder  # noqa: E402

TUNING = {  # portal name -> 2019 census population (GSO, recalled), pre-2025 province
    "Tien Giang": 1764185,
    "Tay Ninh": 1169165,
    "Can Tho": 1235171,
    "Khanh Hoa": 1231107,
}
DAMPINGS = (1.0, 0.8, 0.65, 0.5, 0.35, 0.2, 0.0)
SPREADS = (0.2, 0.35, 0.5, 0.65, 0.8, 1.0)  # sd of a future weekly step of log Rt (0.2: the fit's prior)
KNOBS = {"damping": ("rt_damping", DAMPINGS), "spread": ("forecast_rt_step_sd", SPREADS)}


def run(area: str, knob: str = "damping") -> None:
    """Fit ``area`` at each cutoff and score the forecasts at every value of ``knob`` ("damping" or "spread").

    Dampings are scored with the fit's own step sd (as they were chosen, before the spread was); spreads at
    the config's damping.
    """
    field, grid = KNOBS[knob]
    config = load_config(
        ROOT / "configs" / "ho_chi_minh_2021_delta.toml",
        {
            **SAMPLER,
            "population.total": TUNING[area],
            "population.name": area,
            "calibration.priors.initial_infections.median": 30,
        },
    )
    observed = read_observed(shipped_observed(), area)
    key = area.lower().replace(" ", "_")
    path = OUT / f"{knob}_{key}.csv"
    path.unlink(missing_ok=True)  # rescoring is cheap: the fits are kept
    fits = FitFolder(f"tune_{key}")
    for cutoff in CUTOFFS:
        cut = week_end(cutoff, config.scenario.start_date)
        if cut not in fits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fits[cut] = fit(config, observed, until=cut)
        post = fits[cut]
        for value in grid:
            cfg = json.loads(post.attrs["config_json"])
            if knob == "damping":
                cfg["calibration"]["forecast_rt_step_sd"] = None
            cfg["calibration"][field] = value
            fc = forecast(post.assign_attrs(config_json=json.dumps(cfg)), days=28, draws=DRAWS)
            rows = pd.DataFrame(score_forecast(fc, observed, 4, **{knob: value}, converged=post.attrs["converged"]))
            rows.to_csv(path, mode="a", header=not path.exists(), index=False, float_format="%.6g")
        print(area, cutoff, flush=True)


def table(knob: str) -> pd.DataFrame:
    """Mean WIS and coverage of the model by ``knob`` value (and of the baselines), over tuning provinces."""
    rows = pd.concat([pd.read_csv(p) for p in sorted(OUT.glob(f"{knob}_*.csv"))], ignore_index=True)
    model = rows[rows["method"] == "model"].groupby(knob)[["wis", "cover_50", "cover_90"]].mean()
    base = rows[rows["method"] != "model"].drop_duplicates(["area", "cutoff", "horizon_weeks", "method"])
    return pd.concat([model, base.groupby("method")[["wis", "cover_50", "cover_90"]].mean()])


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--table"]:
        for knob in KNOBS:
            if any(OUT.glob(f"{knob}_*.csv")):
                print(f"by {knob}:\n{table(knob).round(3).to_string()}\n")
    else:
        knob = "spread" if args[:1] == ["--spread"] else "damping"
        for area in [a for a in args if a != "--spread"] or list(TUNING):
            run(area, knob)
