"""Words of the figures in Vietnamese and English: titles, legends, indicator names, units."""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]

_T: dict[str, dict[str, str]] = {
    "cases_title": {
        "vi": "Số ca mắc mới trong 7 ngày trên 100.000 dân",
        "en": "New cases in the last 7 days per 100,000 population",
    },
    "oxygen_patients_title": {
        "vi": "Bệnh nhân cần thở oxy (trung bình 7 ngày) trên 100.000 dân",
        "en": "Patients needing oxygen (7-day average) per 100,000 population",
    },
    "beds_title": {
        "vi": "Giường điều trị có oxy (tầng 2): nhu cầu và số giường sẵn có",
        "en": "Oxygen beds (tier 2): demand vs available beds",
    },
    "icu_title": {
        "vi": "Giường hồi sức tích cực (ICU) có đủ nhân lực: nhu cầu và khả năng đáp ứng",
        "en": "ICU: demand vs ICU beds with enough health staff",
    },
    "oxygen_title": {"vi": "Oxy y tế: nhu cầu và nguồn cung", "en": "Medical oxygen: demand vs supply"},
    "dashboard_title": {
        "vi": "Các tiêu chí kích hoạt phương án ứng phó",
        "en": "Surge-plan activation criteria",
    },
    "compare_title": {"vi": "So sánh các kịch bản", "en": "Comparison of runs"},
    "date": {"vi": "Ngày", "en": "Date"},
    "threshold": {"vi": "Ngưỡng của phương án", "en": "Plan threshold"},
    "crossed": {"vi": "Vượt ngưỡng", "en": "Threshold crossed"},
    "not_crossed": {
        "vi": "Không vượt ngưỡng trong thời gian mô phỏng",
        "en": "Threshold not crossed within the run",
    },
    "met_from_start": {
        "vi": "Đạt ngưỡng ngay từ đầu (năng lực sẵn có), không phải tín hiệu kích hoạt",
        "en": "Met from the start (a finding about capacity), not a trigger",
    },
    "activation": {"vi": "Ngày kích hoạt phương án", "en": "Plan activation date"},
    "not_activated": {
        "vi": "Phương án không được kích hoạt trong thời gian mô phỏng",
        "en": "The plan is not activated within the run",
    },
    "overflow_first": {
        "vi": "Ngày đầu tiên quá tải (bệnh nhân không được thở oxy/hồi sức)",
        "en": "First overflow (patients without oxygen/ICU care)",
    },
    "overflow_short": {"vi": "Quá tải", "en": "Overflow"},
    "no_overflow": {"vi": "Không quá tải trong thời gian mô phỏng", "en": "No overflow within the run"},
    "lead_time": {"vi": "Thời gian từ kích hoạt đến quá tải", "en": "Lead time from activation to overflow"},
    "days": {"vi": "ngày", "en": "days"},
    "first_criterion": {"vi": "tiêu chí đạt đầu tiên", "en": "first criterion met"},
    "met_at_start": {
        "vi": "Lưu ý: tiêu chí «{criterion}» đã đạt ngay từ ngày đầu (năng lực hiện có đã ở dưới ngưỡng)",
        "en": "Note: “{criterion}” is met from the first day (current capacity is already past the threshold)",
    },
    "measure": {"vi": "Biện pháp", "en": "Measure"},
    "indicator": {"vi": "Giá trị của tiêu chí", "en": "Indicator value"},
    "overflow_day": {"vi": "Ngày đầu tiên quá tải", "en": "First overflow"},
    "met_days": {"vi": "Ngày đạt tiêu chí", "en": "Days the criterion is met"},
    "tier2_demand": {
        "vi": "Bệnh nhân cần giường thở oxy (tầng 2)",
        "en": "Patients needing an oxygen bed (tier 2)",
    },
    "beds_available": {"vi": "Giường có oxy sẵn có cho COVID-19", "en": "Oxygen beds available for COVID-19"},
    "beds_run_out": {"vi": "Ngày hết giường", "en": "Beds run out"},
    "beds_enough": {"vi": "Đủ giường trong thời gian mô phỏng", "en": "Enough beds within the run"},
    "surge_step": {"vi": "Bước tăng cường đi vào hoạt động", "en": "Surge step in service"},
    "icu_demand": {"vi": "Bệnh nhân cần hồi sức tích cực (tầng 3)", "en": "Patients needing ICU (tier 3)"},
    "icu_staffed": {"vi": "Giường ICU có đủ nhân lực", "en": "ICU beds with enough health staff"},
    "icu_overflow": {"vi": "Thiếu giường ICU (quá tải)", "en": "Without an ICU bed (overflow)"},
    "oxygen_demand": {"vi": "Nhu cầu oxy", "en": "Oxygen demand"},
    "oxygen_supply": {"vi": "Nguồn cung oxy", "en": "Oxygen supply"},
    "oxygen_unmet": {"vi": "Thiếu oxy", "en": "Unmet demand"},
    "cylinders_axis": {"vi": "Bình oxy/ngày (bình {cyl})", "en": "Cylinders/day ({cyl} cylinder)"},
    "no_data": {"vi": "Không có dữ liệu trong kết quả", "en": "Not in the results"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "source_body": {
        "vi": "mô hình scenarios {version}; cấu hình «{config}»{file}; chạy ngày {created}; "
        "mô hình {engine}, seed {seed}; bộ ngưỡng: {thresholds}",
        "en": "scenarios {version}; config “{config}”{file}; run on {created}; engine {engine}, "
        "seed {seed}; thresholds: {thresholds}",
    },
    "people": {"vi": "người", "en": "people"},
    "beds_unit": {"vi": "giường", "en": "beds"},
    "patients": {"vi": "bệnh nhân", "en": "patients"},
}

_ENGINES = {
    "seir": {"vi": "SEIR theo tuổi", "en": "age-structured SEIR"},
    "abm": {"vi": "dựa trên cá thể (ABM)", "en": "agent-based"},
}


def engine_label(engine: str, lang: Lang) -> str:
    """Return the engine's name as a reader would say it (``"seir"`` -> "age-structured SEIR"); unknown as is."""
    return _ENGINES.get(engine, {}).get(lang, engine)


#: Indicator name -> (label, unit) by language, as the plans write them.
INDICATOR_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "cases_7d_per_100k": {
        "vi": ("Số ca mắc mới trong 7 ngày trên 100.000 dân", "ca/100.000 dân"),
        "en": ("New cases in the last 7 days per 100,000 population", "cases per 100,000"),
    },
    "oxygen_patients_7d_avg_per_100k": {
        "vi": ("Bệnh nhân cần thở oxy, trung bình 7 ngày, trên 100.000 dân", "bệnh nhân/100.000 dân"),
        "en": ("Patients needing oxygen, 7-day average, per 100,000 population", "patients per 100,000"),
    },
    "free_covid_beds_per_100k": {
        "vi": ("Giường trống điều trị COVID-19 trên 100.000 dân", "giường/100.000 dân"),
        "en": ("Free beds for COVID-19 patients per 100,000 population", "beds per 100,000"),
    },
    "staffed_icu_beds_per_100k": {
        "vi": ("Giường hồi sức tích cực (ICU) có đủ nhân lực trên 100.000 dân", "giường/100.000 dân"),
        "en": ("ICU beds with enough health staff per 100,000 population", "beds per 100,000"),
    },
    "free_staffed_icu_beds_per_100k": {
        "vi": (
            "Giường hồi sức tích cực (ICU) có đủ nhân lực còn trống trên 100.000 dân",
            "giường/100.000 dân",
        ),
        "en": ("Free ICU beds with enough health staff per 100,000 population", "beds per 100,000"),
    },
    "deaths_7d_per_100k": {
        "vi": ("Số ca tử vong trong 7 ngày trên 100.000 dân", "ca tử vong/100.000 dân"),
        "en": ("Deaths in the last 7 days per 100,000 population", "deaths per 100,000"),
    },
}

# Units as written in results attrs -> Vietnamese.
_UNITS_VI: dict[str, str] = {
    "people": "người",
    "people/day": "người/ngày",
    "beds": "giường",
    "patients": "bệnh nhân",
    "m3/day": "m³/ngày",
    "m3": "m³",
    "cylinders/day": "bình/ngày",
    "t/day": "tấn/ngày",
    "1": "",
    "cases per 100,000 per 7 days": "ca/100.000 dân/7 ngày",
    "patients per 100,000": "bệnh nhân/100.000 dân",
    "beds per 100,000": "giường/100.000 dân",
    "deaths per 100,000 per 7 days": "ca tử vong/100.000 dân/7 ngày",
    "days": "ngày",
    "deaths": "ca tử vong",
}
_UNITS_EN: dict[str, str] = {"m3/day": "m³/day", "m3": "m³", "1": ""}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _t(key: str, lang: Lang) -> str:
    return _T[key][lang]


def _check_lang(lang: str) -> Lang:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en' (got {lang!r})")
    return lang  # type: ignore[return-value]
