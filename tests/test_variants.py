"""A more transmissible or more escaping new variant never peaks later (and never causes fewer infections)."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios

from .conftest import CONFIGS


def _peak_and_total(**new):
    cfg = scenarios.load_config(
        CONFIGS / "an_giang_new_variant.toml",
        overrides={"scenario.horizon_days": 300, **{f"variants.new.{k}": v for k, v in new.items()}},
    )
    ds = scenarios.run(cfg)
    new_inf = ds.new_infections_by_variant.isel(variant=1).values
    return int(np.argmax(new_inf)), float(new_inf.sum())


@pytest.mark.parametrize(
    "field,values",
    [
        ("transmissibility_multiplier", [1.3, 1.6, 2.0, 2.6]),
        ("immune_escape", [0.2, 0.4, 0.6, 0.9]),
    ],
)
def test_more_dangerous_variant_never_peaks_later(field, values):
    results = [_peak_and_total(**{field: v}) for v in values]
    peaks = [p for p, _ in results]
    assert peaks == sorted(peaks, reverse=True), peaks
    assert peaks[0] > peaks[-1]
    totals = [t for _, t in results]
    assert totals == sorted(totals), totals


def test_severity_multiplier_scales_severe_onsets_of_new_variant_only():
    base = scenarios.run(
        scenarios.load_config(CONFIGS / "an_giang_new_variant.toml", overrides={"scenario.horizon_days": 60})
    )
    worse = scenarios.run(
        scenarios.load_config(
            CONFIGS / "an_giang_new_variant.toml",
            overrides={"scenario.horizon_days": 60, "variants.new.severity_multiplier": 3.0},
        )
    )
    np.testing.assert_allclose(worse.new_infections, base.new_infections)  # severity does not change spread
    assert float(worse.new_onsets_severe.sum()) > float(base.new_onsets_severe.sum())
    # Before the new variant's onsets start (introduced day 14, latent ~4.6 days) nothing differs.
    np.testing.assert_allclose(worse.new_onsets_severe[:14], base.new_onsets_severe[:14])
