"""Every variable a run produces (:data:`VARIABLES`: dims, units, names, cell methods) and CF units.

The conventions are described in :mod:`scenarios.results`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

FLOW, STOCK = "time: sum", "time: point"

# Units as people write them -> (UDUNITS string, the counted thing for long_name). Counts are
# dimensionless in UDUNITS, so what is counted goes into the name; "per 100,000" is a 1e-5 scale factor.
_CF_UNITS: dict[str, tuple[str, str]] = {
    "people": ("1", "people"),
    "patients": ("1", "patients"),
    "beds": ("1", "beds"),
    "deaths": ("1", "deaths"),
    "people/day": ("d-1", "people per day"),
    "deaths/day": ("d-1", "deaths per day"),
    "cylinders/day": ("d-1", "cylinders per day"),
    "m3/day": ("m3 d-1", ""),
    "t/day": ("t d-1", ""),
    "m3": ("m3", ""),
    "1": ("1", ""),
    "days": ("days", ""),
    "cases per 100,000 per 7 days": ("1e-5", "cases in 7 days per 100,000 population"),
    "deaths per 100,000 per 7 days": ("1e-5", "deaths in 7 days per 100,000 population"),
    "patients per 100,000": ("1e-5", "patients per 100,000 population"),
    "beds per 100,000": ("1e-5", "beds per 100,000 population"),
    "1/(contact day)": ("d-1", "per contact per day"),
    # Criterion thresholds are in their indicator's units: every plan indicator is per 100,000.
    "as the indicator": ("1e-5", "in the units of the criterion's indicator, per 100,000 population"),
}


def cf_units(units: str) -> tuple[str, str]:
    """Return the UDUNITS string of a unit as people write it, and the counted thing to name in ``long_name``.

    Examples
    --------
    >>> cf_units("people/day")
    ('d-1', 'people per day')
    >>> cf_units("m3/day")
    ('m3 d-1', '')
    """
    return _CF_UNITS.get(units, (units, ""))


def _var(dims: tuple[str, ...], units: str, long_name: str, long_name_vi: str, cell_methods: str) -> dict:
    udunits, counted = cf_units(units)
    return {
        "dims": dims,
        "units": udunits,
        "units_label": units,
        "long_name": f"{long_name}, {counted}" if counted else long_name,
        "long_name_vi": long_name_vi,
        "cell_methods": cell_methods,
    }


TA = ("time", "age_group")
VARIABLES: dict[str, dict[str, Any]] = {
    "new_infections": _var(TA, "people/day", "new infections", "ca nhiễm mới", FLOW),
    "new_infections_by_variant": _var(
        ("time", "variant"), "people/day", "new infections by variant", "ca nhiễm mới theo biến chủng", FLOW
    ),
    "new_onsets": _var(TA, "people/day", "new onsets of illness", "ca khởi phát mới", FLOW),
    "new_onsets_mild": _var(TA, "people/day", "new onsets, mild (tier 1)", "ca nhẹ mới (tầng 1)", FLOW),
    "new_onsets_severe": _var(
        TA, "people/day", "new onsets needing oxygen (tier 2)", "ca mới cần thở oxy (tầng 2)", FLOW
    ),
    "new_onsets_critical": _var(
        TA, "people/day", "new onsets needing ICU (tier 3)", "ca mới cần hồi sức tích cực (tầng 3)", FLOW
    ),
    "new_reported_cases": _var(TA, "people/day", "new reported cases", "ca mắc mới được báo cáo", FLOW),
    "n_susceptible": _var(TA, "people", "not infected, no post-infection immunity", "người chưa nhiễm", STOCK),
    "n_exposed": _var(TA, "people", "infected, latent", "người nhiễm trong thời kỳ ủ bệnh", STOCK),
    "n_infectious": _var(TA, "people", "infectious", "người có khả năng lây", STOCK),
    "n_recovered": _var(TA, "people", "recovered, with post-infection immunity", "người đã khỏi", STOCK),
    "n_by_immunity": _var(
        ("time", "immunity", "age_group"),
        "people",
        "people not currently infected, by immunity stratum",
        "người không đang nhiễm, theo nhóm miễn dịch",
        STOCK,
    ),
    "contact_multiplier": _var(
        ("time", "setting"), "1", "contact multiplier by setting", "hệ số tiếp xúc theo môi trường", STOCK
    ),
}


# Three-tier care (definitions in scenarios.care): census and waiting are stocks at the end of
# the day; admissions, discharges and deaths are flows over the day. Oxygen is a rate on the day's census.
T = ("time",)
VARIABLES.update(
    {
        "census_home": _var(
            TA,
            "people",
            "in tier-1 home/community care (mild, or severe/critical before admission)",
            "người điều trị tại nhà/cộng đồng (tầng 1)",
            STOCK,
        ),
        "census_oxygen": _var(
            TA,
            "people",
            "tier-2 patients receiving oxygen in a bed (step-down from ICU included)",
            "người bệnh thở oxy tại giường (tầng 2)",
            STOCK,
        ),
        "census_icu": _var(
            TA,
            "people",
            "patients in staffed ICU beds (tier 3)",
            "người bệnh tại giường hồi sức tích cực (tầng 3)",
            STOCK,
        ),
        "unmet_oxygen": _var(
            TA,
            "people",
            "patients needing oxygen without it (no bed or no oxygen)",
            "người bệnh cần oxy nhưng không được thở oxy",
            STOCK,
        ),
        "unmet_icu": _var(
            TA,
            "people",
            "critical patients without an ICU bed",
            "người bệnh nặng không có giường hồi sức tích cực",
            STOCK,
        ),
        "needing_oxygen": _var(
            TA,
            "people",
            "patients needing oxygen (tier 2 and ICU, with or without it)",
            "người bệnh cần thở oxy (tầng 2 và hồi sức, có hoặc chưa có oxy)",
            STOCK,
        ),
        "admissions_oxygen": _var(
            TA,
            "people/day",
            "admissions to tier-2 oxygen beds",
            "số ca nhập viện thở oxy (tầng 2)",
            FLOW,
        ),
        "admissions_icu": _var(TA, "people/day", "admissions to ICU", "số ca nhập hồi sức tích cực", FLOW),
        "stepdowns_icu_to_oxygen": _var(
            TA,
            "people/day",
            "ICU survivors moved to a tier-2 bed",
            "số ca chuyển từ hồi sức xuống tầng 2",
            FLOW,
        ),
        "discharges_oxygen": _var(
            TA,
            "people/day",
            "discharges alive from tier-2 beds",
            "số ca xuất viện từ tầng 2",
            FLOW,
        ),
        "discharges_icu": _var(
            TA,
            "people/day",
            "ICU survivors sent home (no tier-2 bed for step-down)",
            "số ca ra viện thẳng từ hồi sức tích cực",
            FLOW,
        ),
        "deaths_in_oxygen_bed": _var(
            TA,
            "deaths/day",
            "deaths in tier-2 oxygen beds",
            "số ca tử vong tại tầng 2",
            FLOW,
        ),
        "deaths_in_icu": _var(TA, "deaths/day", "deaths in ICU", "số ca tử vong tại hồi sức tích cực", FLOW),
        "displaced_oxygen": _var(
            TA,
            "people/day",
            "tier-2 patients who lost their bed or oxygen when capacity fell",
            "số người bệnh tầng 2 mất giường/oxy do năng lực giảm",
            FLOW,
        ),
        "displaced_icu": _var(
            TA,
            "people/day",
            "ICU patients who lost their staffed bed when capacity fell",
            "số người bệnh mất giường hồi sức do năng lực giảm",
            FLOW,
        ),
        "new_unmet_oxygen": _var(
            TA,
            "people/day",
            "patients starting to need oxygen without getting it",
            "số ca mới cần oxy nhưng không được đáp ứng",
            FLOW,
        ),
        "new_unmet_icu": _var(
            TA,
            "people/day",
            "critical patients starting without an ICU bed",
            "số ca nặng mới không có giường hồi sức",
            FLOW,
        ),
        "recoveries_without_care": _var(
            TA,
            "people/day",
            "recoveries of patients who did not get the care they needed",
            "số ca khỏi dù không được điều trị như cần",
            FLOW,
        ),
        "deaths": _var(TA, "deaths/day", "deaths", "số ca tử vong", FLOW),
        "deaths_without_care": _var(
            TA,
            "deaths/day",
            "deaths of patients without the bed, oxygen or ICU they needed",
            "số ca tử vong do không được điều trị (thiếu giường, oxy, hồi sức)",
            FLOW,
        ),
        "oxygen_demand_m3_per_day": _var(T, "m3/day", "oxygen demand of all patients needing it", "nhu cầu oxy", STOCK),
        "oxygen_used_m3_per_day": _var(
            T,
            "m3/day",
            "oxygen used by patients in beds",
            "lượng oxy sử dụng",
            STOCK,
        ),
        "oxygen_supply_m3_per_day": _var(T, "m3/day", "oxygen supply", "nguồn cung oxy", STOCK),
        "oxygen_unmet_m3_per_day": _var(
            T, "m3/day", "oxygen demand above supply", "nhu cầu oxy vượt nguồn cung", STOCK
        ),
        "oxygen_demand_cylinders_per_day": _var(
            T,
            "cylinders/day",
            "oxygen demand in cylinders (size in config)",
            "nhu cầu oxy tính theo bình",
            STOCK,
        ),
        "oxygen_demand_liquid_tonnes_per_day": _var(
            T,
            "t/day",
            "oxygen demand in tonnes of liquid oxygen",
            "nhu cầu oxy tính theo tấn oxy lỏng",
            STOCK,
        ),
        "beds_oxygen_available": _var(
            T,
            "beds",
            "oxygen beds available to COVID-19 patients (tier 2)",
            "số giường có oxy dành cho COVID-19 (tầng 2)",
            STOCK,
        ),
        "beds_icu_available": _var(
            T, "beds", "ICU beds available to COVID-19 patients", "số giường hồi sức dành cho COVID-19", STOCK
        ),
        "icu_staffed_available": _var(
            T, "beds", "ICU beds with enough staff", "số giường hồi sức tích cực có đủ nhân lực", STOCK
        ),
        "beds_covid_free": _var(
            T,
            "beds",
            "free COVID-19 beds (tier-2 oxygen beds and staffed ICU beds)",
            "số giường điều trị COVID-19 còn trống",
            STOCK,
        ),
        "icu_staffed_free": _var(
            T, "beds", "free staffed ICU beds", "số giường hồi sức tích cực có đủ nhân lực còn trống", STOCK
        ),
        "staff_absence": _var(T, "1", "share of ICU staff absent", "tỷ lệ nhân viên hồi sức vắng mặt", STOCK),
    }
)


# Surge-plan indicators, criteria, epidemic level and triggered responses (definitions in
# scenarios.indicators and docs/indicators.md). Indicators are the value on each date of a 7-day window
# or a stock, so they are points in time (summing them over dates means nothing).
VARIABLES.update(
    {
        "cases_7d_per_100k": _var(
            ("time",),
            "cases per 100,000 per 7 days",
            "reported cases in the last 7 days per 100,000",
            "số ca mắc mới trong 7 ngày qua trên 100.000 dân",
            STOCK,
        ),
        "oxygen_patients_7d_avg_per_100k": _var(
            ("time",),
            "patients per 100,000",
            "patients needing oxygen, 7-day average, per 100,000",
            "số người bệnh cần thở oxy trung bình 7 ngày trên 100.000 dân",
            STOCK,
        ),
        "free_covid_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "free beds for COVID-19 patients per 100,000",
            "số giường bệnh còn trống cho người bệnh COVID-19 trên 100.000 dân",
            STOCK,
        ),
        "staffed_icu_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "ICU beds with enough staff per 100,000",
            "số giường hồi sức tích cực có đủ nhân lực trên 100.000 dân",
            STOCK,
        ),
        "free_staffed_icu_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "free staffed ICU beds per 100,000",
            "số giường hồi sức tích cực có đủ nhân lực còn trống trên 100.000 dân",
            STOCK,
        ),
        "deaths_7d_per_100k": _var(
            ("time",),
            "deaths per 100,000 per 7 days",
            "deaths in the last 7 days per 100,000",
            "số ca tử vong trong 7 ngày qua trên 100.000 dân",
            STOCK,
        ),
        "criterion_met": _var(
            ("time", "criterion"),
            "1",
            "surge-plan criterion met (1) or not (0)",
            "tiêu chí kích hoạt phương án đạt (1) hay không (0)",
            STOCK,
        ),
        "plan_activated": _var(
            ("time",),
            "1",
            "surge plan activation rule met (1) or not (0)",
            "đạt điều kiện kích hoạt phương án (1) hay không (0)",
            STOCK,
        ),
        "epidemic_level": _var(("time",), "1", "epidemic level", "cấp độ dịch", STOCK),
        "policy_in_force": _var(
            ("time", "policy"),
            "1",
            "triggered response in force (1) or not (0)",
            "biện pháp đáp ứng đang áp dụng (1) hay không (0)",
            STOCK,
        ),
        "policy_event": _var(
            ("time", "policy"),
            "1",
            "triggered response events (flags: 1 triggered, 2 in force from this day, 4 lift decided, 8 ended)",
            "sự kiện của biện pháp đáp ứng",
            STOCK,
        ),
    }
)
VARIABLES["policy_event"].update(  # CF flags, as scenarios.policy.EVENT_FLAGS
    flag_masks=np.array([1, 2, 4, 8], dtype=np.int8), flag_meanings="triggered in_force lift_decided ended"
)
for _name, _meanings in (
    ("criterion_met", "not_met met"),
    ("plan_activated", "not_activated activated"),
    ("policy_in_force", "not_in_force in_force"),
):
    VARIABLES[_name].update(flag_values=np.array([0, 1], dtype=np.int8), flag_meanings=_meanings)
VARIABLES["epidemic_level"].update(
    flag_values=np.array([1, 2, 3, 4], dtype=np.int8), flag_meanings="level_1 level_2 level_3 level_4"
)

#: Long names of the coordinates (CF wants one on each).
COORD_NAMES = {
    "time": "date",
    "day": "days since the start of the run",
    "age_group": "age group (years)",
    "variant": "virus variant",
    "immunity": "immunity stratum",
    "setting": "contact setting",
    "criterion": "surge-plan criterion",
    "policy": "triggered response",
    "scenario": "what-if",
    "replicate": "replicate run",
}


def over_ages(da: xr.DataArray) -> xr.DataArray:
    """Return ``da`` summed over ``age_group`` when it has that dimension (totals for the whole area)."""
    return da.sum("age_group") if "age_group" in da.dims else da


def _attr(value: Any) -> Any:
    """NetCDF attributes take text and numbers only."""
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    return "" if value is None else str(value)
