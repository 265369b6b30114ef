"""The schema itself: units and sources on every number, extends, overrides, province look-up."""

from __future__ import annotations

import datetime as dt
import typing

import pydantic
import pytest
from pydantic import BaseModel

import scenarios
from scenarios.config import Config, find_province
from scenarios.config.loader import parse_set

from .conftest import CONFIGS


def _models(model: type[BaseModel], seen=None):
    seen = seen if seen is not None else set()
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            ann = stack.pop()
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                yield from _models(ann, seen)
            stack.extend(typing.get_args(ann))


def _numeric(annotation) -> bool:
    stack = [annotation]
    while stack:
        ann = stack.pop()
        if ann in (int, float, dt.date):
            return True
        stack.extend(typing.get_args(ann))
    return False


def test_every_numeric_field_has_units_and_source():
    missing = []
    for model in _models(Config):
        for name, field in model.model_fields.items():
            if _numeric(field.annotation) and not _models_only(field.annotation):
                extra = field.json_schema_extra or {}
                if not extra.get("units") or not extra.get("source") or not field.description:
                    missing.append(f"{model.__name__}.{name}")
    assert missing == []


def _models_only(annotation) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    return all(isinstance(a, type) and issubclass(a, BaseModel) or a is type(None) for a in args)


def test_extends_merges_tables_key_by_key():
    cfg = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml")
    assert cfg.scenario.name == "An Giang — biến chủng mới (new variant)"  # from the what-if
    assert cfg.scenario.horizon_days == 180  # from an_giang.toml
    assert cfg.immunity.initial_waned_share == 0.8  # from base/vietnam_immunity_2026.toml
    assert cfg.variants.new.immune_escape == 0.6
    assert "an_giang.toml" in cfg.provenance["config_text"] and "vietnam_immunity_2026" in cfg.provenance["config_text"]


def test_overrides_from_python_and_cli_agree():
    a = scenarios.load_config(
        CONFIGS / "an_giang_new_variant.toml",
        overrides={"variants.new.immune_escape": 0.3, "scenario": {"horizon_days": 90}},
    )
    b = scenarios.load_config(
        CONFIGS / "an_giang_new_variant.toml",
        overrides=parse_set(["variants.new.immune_escape=0.3", "scenario.horizon_days=90"]),
    )
    assert a.model_dump() == b.model_dump() and a.variants.new.immune_escape == 0.3 and a.scenario.horizon_days == 90


def test_set_parses_toml_values():
    got = parse_set(["a=1", "b=0.5", "c=2027-01-01", "d=[1, 2]", "e=An Giang", "f=true"])
    assert got == {"a": 1, "b": 0.5, "c": dt.date(2027, 1, 1), "d": [1, 2], "e": "An Giang", "f": True}


@pytest.mark.parametrize("key", ["VN01", "Hà Nội", "ha noi", "Ha Noi city", "HÀ NỘI"])
def test_province_found_by_code_or_name_with_or_without_diacritics(key):
    assert find_province(key).code == "VN01"


def test_config_is_frozen():
    cfg = scenarios.load_config(CONFIGS / "phong_tho.toml")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.scenario.horizon_days = 5
