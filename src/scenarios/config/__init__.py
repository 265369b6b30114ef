"""What-if configs: the schema (frozen pydantic models) and loading from TOML files."""

from .base import AGE_GROUPS, N_AGE, SETTINGS, StrictModel, param
from .loader import ConfigError, apply_overrides, dotted_keys, load_config, parse_set, to_toml
from .model import (
    Disease,
    Immunity,
    Intervention,
    NewVariant,
    Population,
    Reporting,
    ResidentVariant,
    Scenario,
    Variants,
)
from .provinces import Province, find_province
from .root import Config

__all__ = [
    "AGE_GROUPS",
    "N_AGE",
    "SETTINGS",
    "Config",
    "Disease",
    "Immunity",
    "Intervention",
    "NewVariant",
    "Population",
    "Reporting",
    "ResidentVariant",
    "Scenario",
    "Variants",
    "ConfigError",
    "Province",
    "StrictModel",
    "apply_overrides",
    "dotted_keys",
    "find_province",
    "load_config",
    "param",
    "parse_set",
    "to_toml",
]
