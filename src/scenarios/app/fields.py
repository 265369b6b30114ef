"""The config fields the page shows: labels, and units, ranges and sources read from the config schema.

Nothing here is retyped from the schema: units, source, description and constraints come from each
pydantic field (:func:`scenarios.config.param`), so the page and ``scenarios validate`` cannot disagree.
A value typed on the page is read exactly as ``--set KEY=VALUE`` is (:func:`scenarios.config.parse_set`).
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..config import Config, parse_set

__all__ = [
    "PageField",
    "FIELDS",
    "SECTIONS",
    "allowed",
    "config_value",
    "field_info",
    "looks_like_thousands",
    "meta",
    "parse_value",
    "value_text",
]


@dataclass(frozen=True)
class PageField:
    """A config field on the page: its dotted key (as for ``--set``), label in each language, Vietnamese help.

    The English help is the schema's ``description``.
    """

    key: str
    vi: str
    en: str
    help_vi: str

    def label(self, lang: str) -> str:
        """Label in ``lang``."""
        return self.vi if lang == "vi" else self.en

    def help(self, lang: str) -> str:
        """Return what the field means, in ``lang``."""
        return self.help_vi if lang == "vi" else meta(self.key)["description"]


# The planner's own numbers (capacity) and the new variant's parameters; labels only, the rest is schema.
SECTIONS: dict[str, tuple[PageField, ...]] = {
    "capacity": (
        PageField(
            "capacity.beds_oxygen",
            "Giường có oxy cho COVID-19 (tầng 2)",
            "Oxygen beds for COVID-19 (tier 2)",
            "Số giường có cung cấp oxy dành cho người bệnh COVID-19 (tầng 2); nếu nhập, thay cho số giường oxy "
            "trên 100.000 dân.",
        ),
        PageField(
            "capacity.non_covid_share_oxygen",
            "Tỷ lệ giường oxy đang có bệnh nhân khác",
            "Share of oxygen beds held by other patients",
            "Tỷ lệ giường oxy tầng 2 dành cho COVID-19 nhưng đang có người bệnh khác nằm.",
        ),
        PageField(
            "capacity.beds_icu",
            "Giường hồi sức tích cực (ICU, tầng 3)",
            "ICU beds (tier 3)",
            "Số giường hồi sức tích cực dành cho COVID-19 (tầng 3); nếu nhập, thay cho số giường ICU trên 100.000 dân.",
        ),
        PageField(
            "capacity.icu_staffed_share",
            "Tỷ lệ giường ICU đủ nhân lực",
            "Share of ICU beds with enough staff",
            "Tỷ lệ giường ICU có đủ nhân lực để vận hành (trước khi trừ nhân viên nghỉ).",
        ),
        PageField(
            "capacity.oxygen_liquid_tonnes_per_day",
            "Oxy lỏng cung cấp mỗi ngày",
            "Liquid oxygen delivered per day",
            "Lượng oxy lỏng được cung cấp mỗi ngày.",
        ),
        PageField(
            "capacity.oxygen_cylinders_per_day",
            "Bình oxy đầy cung cấp mỗi ngày",
            "Full cylinders delivered per day",
            "Số bình oxy đầy được cung cấp mỗi ngày (dung tích và áp suất bình ở mục [oxygen]).",
        ),
        PageField(
            "capacity.oxygen_generators_m3_per_day",
            "Máy tạo oxy tại chỗ (PSA, máy tập trung)",
            "On-site generators and concentrators",
            "Sản lượng mỗi ngày của hệ thống tạo oxy tại chỗ (PSA) và máy tập trung oxy (khí ở 1 atm).",
        ),
    ),
    "variant": (
        PageField(
            "variants.new.transmissibility_multiplier",
            "Hệ số lây truyền (so với biến chủng đang lưu hành)",
            "Transmissibility (relative to the resident variant)",
            "Tốc độ lây truyền so với biến chủng đang lưu hành (1 = như nhau).",
        ),
        PageField(
            "variants.new.immune_escape",
            "Mức né miễn dịch chống nhiễm",
            "Immune escape (infection)",
            "Phần bảo vệ chống nhiễm (do tiêm vắc xin hoặc đã nhiễm biến chủng đang lưu hành) mà biến chủng mới "
            "né được.",
        ),
        PageField(
            "variants.new.severe_escape",
            "Mức né miễn dịch chống bệnh nặng",
            "Immune escape (severe disease)",
            "Phần bảo vệ chống bệnh nặng mà biến chủng mới né được.",
        ),
        PageField(
            "variants.new.severity_multiplier",
            "Hệ số mức độ nặng",
            "Severity multiplier",
            "Nguy cơ bệnh nặng và nguy kịch của mỗi ca nhiễm không được bảo vệ, so với biến chủng đang lưu hành.",
        ),
        PageField(
            "variants.new.introduction_date",
            "Ngày bắt đầu xâm nhập",
            "Introduction date",
            "Ngày đầu tiên có ca nhiễm xâm nhập.",
        ),
        PageField(
            "variants.new.imported_per_day",
            "Số ca xâm nhập mỗi ngày",
            "Imported infections per day",
            "Số ca nhiễm xâm nhập mỗi ngày.",
        ),
        PageField(
            "variants.new.import_days",
            "Số ngày có ca xâm nhập",
            "Days of importation",
            "Số ngày liên tiếp có ca xâm nhập.",
        ),
    ),
    "scenario": (
        PageField(
            "scenario.start_date",
            "Ngày bắt đầu mô phỏng",
            "First simulated day",
            "Ngày đầu tiên của mô phỏng (ngày 0).",
        ),
        PageField("scenario.horizon_days", "Số ngày mô phỏng", "Days simulated", "Số ngày được mô phỏng."),
    ),
}
FIELDS: dict[str, PageField] = {f.key: f for fields in SECTIONS.values() for f in fields}


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def field_info(key: str) -> FieldInfo:
    """Return the pydantic field of a dotted key, e.g. ``"capacity.beds_icu"``.

    Examples
    --------
    >>> field_info("capacity.beds_icu").json_schema_extra["units"]
    'beds'
    """
    model: type[BaseModel] | None = Config
    *parents, last = key.split(".")
    for part in parents:
        model = _submodel(model.model_fields[part].annotation) if model else None
    if model is None or last not in model.model_fields:
        raise KeyError(f"no config field {key!r}")
    return model.model_fields[last]


def meta(key: str) -> dict[str, Any]:
    """Units, source, description and constraints (``ge``, ``gt``, ``le``, ``lt``) of a config field.

    Examples
    --------
    >>> m = meta("capacity.icu_staffed_share")
    >>> m["units"], m["ge"], m["le"]
    ('1', 0.0, 1.0)
    """
    info = field_info(key)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    out: dict[str, Any] = {
        "units": extra.get("units", ""),
        "source": extra.get("source", ""),
        "description": info.description or "",
        "default": info.default,
    }
    for c in info.metadata:
        for kind, name in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
            if isinstance(c, kind):
                out[name] = getattr(c, name)
    return out


def allowed(key: str) -> str:
    """Return the allowed range of a numeric field as text, e.g. ``"0 ≤ x ≤ 1"``; empty when unbounded.

    Examples
    --------
    >>> allowed("capacity.icu_staffed_share"), allowed("capacity.beds_icu"), allowed("variants.new.severity_multiplier")
    ('0 ≤ x ≤ 1', 'x ≥ 0', '0 < x ≤ 20')
    """
    m = meta(key)
    low = f"{m['ge']:g} ≤ " if "ge" in m else f"{m['gt']:g} < " if "gt" in m else ""
    high = f" ≤ {m['le']:g}" if "le" in m else f" < {m['lt']:g}" if "lt" in m else ""
    if low and high:
        return f"{low}x{high}"
    if low:
        return "x " + ("≥ " if "ge" in m else "> ") + low.split()[0]
    return f"x{high}" if high else ""


def _is_text(key: str) -> bool:
    annotation = field_info(key).annotation
    return annotation is str or (str in typing.get_args(annotation) and len(typing.get_args(annotation)) <= 2)


def parse_value(key: str, text: str) -> Any:
    """Read a value typed on the page as ``--set KEY=VALUE`` reads it (text fields are taken as typed).

    Examples
    --------
    >>> parse_value("capacity.beds_icu", "300"), parse_value("variants.new.introduction_date", "2027-01-05")
    (300, datetime.date(2027, 1, 5))
    >>> parse_value("capacity.beds_icu", "nhiều")
    'nhiều'
    """
    if _is_text(key):
        return text
    return parse_set([f"{key}={text}"])[key]


def looks_like_thousands(text: str) -> bool:
    """Tell whether ``text`` reads like a Vietnamese thousands separator (``1.770``), which TOML takes as 1.77.

    Examples
    --------
    >>> looks_like_thousands("1.770"), looks_like_thousands("80.000"), looks_like_thousands("0.8")
    (True, True, False)
    """
    return re.fullmatch(r"\d{1,3}(\.\d{3})+", text.strip()) is not None


def value_text(value: Any) -> str:
    """Show a config value in a text box the way ``--set`` would take it back (empty for ``None``).

    Examples
    --------
    >>> value_text(1770.0), value_text(0.8), value_text(None), value_text(__import__("datetime").date(2027, 1, 5))
    ('1770', '0.8', '', '2027-01-05')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def config_value(config: Config, key: str) -> Any:
    """Return the value of a dotted key in a config (``None`` when a parent section is absent).

    Examples
    --------
    >>> import scenarios
    >>> config_value(scenarios.load_config("configs/an_giang.toml"), "capacity.beds_icu")
    295.0
    """
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node
