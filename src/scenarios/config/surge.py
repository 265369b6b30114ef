"""Surge-plan config: threshold sets (criteria and activation rule), epidemic levels, triggered responses.

Three sections of a what-if file:

``[thresholds]``
    Which threshold set the plan uses: a shipped set by name (``data/thresholds/*.toml``), a TOML file of
    the same shape (path relative to the config file), or a set written inline; with optional overrides
    of single criteria.
``[levels]``
    Optional table of epidemic levels (cấp độ dịch 1-4): the level of a date is the highest level whose
    criteria are met.
``[[policies]]``
    Triggered responses: when a criterion, the plan's activation or a level fires, after a delay, scale
    contacts by setting, open a surge step, or run a booster campaign; optionally lifted when the trigger
    has stopped holding for some days.

The indicator names a criterion may use are the keys of :data:`INDICATORS`; their exact definitions are
in :mod:`scenarios.indicators` and ``docs/indicators.md``.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .base import N_AGE, SETTINGS, ContactScaling, StrictModel, param

__all__ = [
    "INDICATORS",
    "OPERATORS",
    "Criterion",
    "ThresholdSet",
    "Thresholds",
    "Level",
    "Levels",
    "Policy",
    "shipped_threshold_sets",
    "load_threshold_set",
]

#: Indicator name -> (definition, units). Every criterion names one of these.
INDICATORS: dict[str, tuple[str, str]] = {
    "cases_7d_per_100k": (
        "reported cases (by report date) in the 7 days ending on the date, per 100,000 population",
        "cases per 100,000 per 7 days",
    ),
    "oxygen_patients_7d_avg_per_100k": (
        "patients needing oxygen (oxygen ward and ICU, with or without a bed), mean of the 7 daily counts "
        "ending on the date, per 100,000 population",
        "patients per 100,000",
    ),
    "free_covid_beds_per_100k": (
        "beds for COVID-19 patients available minus occupied at the end of the date, per 100,000 population",
        "beds per 100,000",
    ),
    "staffed_icu_beds_per_100k": (
        "ICU beds with enough health staff (open, staffed) on the date, per 100,000 population",
        "beds per 100,000",
    ),
    "free_staffed_icu_beds_per_100k": (
        "staffed ICU beds not occupied at the end of the date, per 100,000 population",
        "beds per 100,000",
    ),
    "deaths_7d_per_100k": (
        "deaths in the 7 days ending on the date, per 100,000 population",
        "deaths per 100,000 per 7 days",
    ),
}

#: Operators as plans write them; ``>=`` and ``<=`` are accepted and stored as ``≥`` and ``≤``.
OPERATORS: tuple[str, ...] = (">", "≥", "<", "≤")
_ASCII = {">=": "≥", "<=": "≤", "=>": "≥", "=<": "≤"}


def _operator(value: str) -> str:
    op = _ASCII.get(value.strip(), value.strip())
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {value!r}; allowed: >, ≥ (or >=), <, ≤ (or <=)")
    return op


def _indicator(value: str) -> str:
    if value not in INDICATORS:
        raise ValueError(f"unknown indicator {value!r}; allowed: " + ", ".join(INDICATORS))
    return value


class Criterion(StrictModel):
    """One criterion: ``indicator operator value``, met when it holds on ``sustained_days`` days in a row."""

    indicator: str = Field(description="Indicator name; one of " + ", ".join(INDICATORS) + ".")
    operator: str = Field(description="Comparison as written in the plan: >, ≥, <, ≤ (>= and <= accepted).")
    value: float = param(
        units="as the indicator (per 100,000)",
        source="the plan (see 'source')",
        description="Threshold the indicator is compared with.",
        ge=0,
    )
    name: str = Field("", description="Short label in tables; defaults to the indicator name.", max_length=200)
    unit: str = Field("", description="Unit as the plan writes it, for tables and docs.")
    sustained_days: int = param(
        1,
        units="days",
        source="plan text (1: met on the day itself)",
        description="Days in a row the comparison must hold before the criterion counts as met.",
        ge=1,
        le=365,
    )
    source: str = Field("", description="Where the criterion comes from, quoting the plan.")

    @field_validator("operator")
    @classmethod
    def _check_operator(cls, v: str) -> str:
        return _operator(v)

    @field_validator("indicator")
    @classmethod
    def _check_indicator(cls, v: str) -> str:
        return _indicator(v)

    @model_validator(mode="after")
    def _default_name(self) -> Criterion:
        if not self.name:
            object.__setattr__(self, "name", self.indicator)
        return self

    @property
    def label(self) -> str:
        """``indicator op value`` (and ``for N days``) as one line of text."""
        text = f"{self.indicator} {self.operator} {self.value:g}"
        return text + (f" for {self.sustained_days} days" if self.sustained_days > 1 else "")


Activation = Literal["any", "all", "k_of_n"]


class ThresholdSet(StrictModel):
    """A surge plan's criteria and the rule that activates the plan."""

    name: str = Field(description="Short name (the file name of a shipped set).", min_length=1, max_length=200)
    title: str = Field("", description="What the set is, for tables and figures.")
    source: str = Field("", description="The plan document the criteria come from.")
    activation: Activation = Field(
        "any",
        description="'any': the plan is activated when any criterion is met; 'all': when all are; "
        "'k_of_n': when at least k are met on the same date.",
    )
    k: int | None = param(
        None, units="criteria", source="user", description="Criteria needed when activation = 'k_of_n'.", ge=1
    )
    criteria: tuple[Criterion, ...] = Field(description="The criteria, in the plan's order.", min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ThresholdSet:
        names = [c.name for c in self.criteria]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"criteria: duplicate names {dup}; give each a distinct 'name'")
        if self.activation == "k_of_n":
            if self.k is None or self.k > len(self.criteria):
                raise ValueError(f"activation 'k_of_n' needs k between 1 and {len(self.criteria)} (got {self.k})")
        elif self.k is not None:
            raise ValueError("k is used only with activation = 'k_of_n'")
        return self

    @property
    def k_needed(self) -> int:
        """Number of criteria that must be met on a date for the plan to be activated."""
        return {"any": 1, "all": len(self.criteria)}.get(self.activation, self.k or 1)

    def criterion(self, name: str) -> Criterion:
        """Return the criterion called ``name``."""
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(f"no criterion {name!r}; this set has: " + ", ".join(c.name for c in self.criteria))


def _shipped_dir():
    return resources.files("scenarios") / "data" / "thresholds"


def shipped_threshold_sets() -> list[str]:
    """Names of the threshold sets shipped in ``data/thresholds``."""
    return sorted(p.name.removesuffix(".toml") for p in _shipped_dir().iterdir() if p.name.endswith(".toml"))


@cache
def _shipped(name: str) -> ThresholdSet:
    return ThresholdSet.model_validate(tomllib.loads((_shipped_dir() / f"{name}.toml").read_text("utf-8")))


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text


def load_threshold_set(
    ref: str | Path | ThresholdSet | dict[str, Any], base_dir: str | Path | None = None
) -> ThresholdSet:
    """Load a threshold set from a shipped name, a TOML file or a table (a set is returned as is).

    Parameters
    ----------
    ref : str, Path, ThresholdSet or dict
        A shipped name (see :func:`shipped_threshold_sets`), the path of a TOML file shaped like the
        shipped ones, or the table itself.
    base_dir : path, optional
        Folder a relative path is read from (the config file's folder); default the working directory.

    Raises
    ------
    ValueError
        Unknown name (the message lists the shipped ones), missing file, or an invalid set.
    """
    if isinstance(ref, ThresholdSet):
        return ref
    if isinstance(ref, dict):
        return ThresholdSet.model_validate(ref)
    text = str(ref)
    if not _looks_like_path(text):
        if text not in shipped_threshold_sets():
            raise ValueError(
                f"unknown threshold set {text!r}; shipped: {', '.join(shipped_threshold_sets())} "
                "(or give the path of a .toml file)"
            )
        return _shipped(text)
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise ValueError(f"threshold set file not found: {path}")
    try:
        return ThresholdSet.model_validate(tomllib.loads(path.read_text("utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise ValueError(f"threshold set file {path}: {e}") from None


class CriterionOverride(StrictModel):
    """Change one criterion of the chosen set (only the keys given)."""

    indicator: str | None = Field(None, description="Indicator name (e.g. to read 'ICU beds' literally).")
    operator: str | None = Field(None, description="Comparison: >, ≥, <, ≤.")
    value: float | None = param(None, units="as the indicator", source="user", description="Threshold.", ge=0)
    sustained_days: int | None = param(
        None, units="days", source="user", description="Days in a row before the criterion is met.", ge=1
    )

    @field_validator("operator")
    @classmethod
    def _check_operator(cls, v: str | None) -> str | None:
        return v if v is None else _operator(v)

    @field_validator("indicator")
    @classmethod
    def _check_indicator(cls, v: str | None) -> str | None:
        return v if v is None else _indicator(v)


DEFAULT_SET = "provincial_3984"


class Thresholds(StrictModel):
    """Config section ``[thresholds]``: the plan's threshold set."""

    set: str = Field(
        DEFAULT_SET,
        description="A shipped set (provincial_3984, small_area_phongtho) or a .toml file path relative to "
        "the config file. Ignored when 'inline' is given.",
    )
    inline: ThresholdSet | None = Field(None, description="A whole threshold set written in the config.")
    activation: Activation | None = Field(None, description="Override the set's activation rule.")
    k: int | None = param(None, units="criteria", source="user", description="k for 'k_of_n'.", ge=1)
    override: dict[str, CriterionOverride] = Field(
        default_factory=dict,
        description="Per criterion name: indicator/operator/value/sustained_days to change.",
    )

    @model_validator(mode="after")
    def _check(self) -> Thresholds:
        customised = self.set != DEFAULT_SET or self.override or self.activation is not None or self.k
        if self.inline is None and not _looks_like_path(self.set) and customised:
            self.resolve()  # a shipped set: check its name and the overrides now (no file read at import)
        return self

    def resolve(self, base_dir: str | Path | None = None) -> ThresholdSet:
        """Return the threshold set in force: the chosen set with the overrides applied.

        Parameters
        ----------
        base_dir : path, optional
            Folder of the config file, for a relative ``set`` path.
        """
        base = self.inline if self.inline is not None else load_threshold_set(self.set, base_dir)
        data = base.model_dump()
        names = [c.name for c in base.criteria]
        for name, change in self.override.items():
            if name not in names:
                raise ValueError(f"override: no criterion {name!r} in set {base.name!r}; it has: {', '.join(names)}")
            crit = data["criteria"][names.index(name)]
            changes = change.model_dump(exclude_none=True)
            crit.update(changes)
            changed = ", ".join(f"{k} = {v}" for k, v in changes.items())
            crit["source"] += f" [changed in config: {changed}]"
        if self.activation is not None:
            data["activation"] = self.activation
            data["k"] = self.k
        elif self.k is not None:
            data["k"] = self.k
        return ThresholdSet.model_validate(data)


class Level(StrictModel):
    """One epidemic level and the criteria that put a date at (at least) this level."""

    level: int = param(
        units="1",
        source="user (Resolution 128/NQ-CP: levels 1-4)",
        description="Level number; higher is worse.",
        ge=1,
        le=10,
    )
    name: str = Field("", description="Label, e.g. 'cấp độ 3 (nguy cơ cao)'.", max_length=200)
    rule: Literal["any", "all"] = Field("any", description="Level reached when any / all criteria are met.")
    criteria: tuple[Criterion, ...] = Field(min_length=1, description="Criteria for this level.")


class Levels(StrictModel):
    """Config section ``[levels]``: a date's level is the highest whose criteria are met, else the lowest."""

    source: str = Field("", description="Where the level table comes from.")
    lowest: int = param(
        1,
        units="1",
        source="Resolution 128/NQ-CP (level 1: low risk)",
        description="Level of a date that meets no level's criteria.",
        ge=0,
        le=10,
    )
    level: tuple[Level, ...] = Field(min_length=1, description="Levels above the lowest, each with criteria.")

    @model_validator(mode="after")
    def _check(self) -> Levels:
        numbers = [lv.level for lv in self.level]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"level: each level number once (got {numbers})")
        if min(numbers) <= self.lowest:
            raise ValueError(f"level: levels must be above 'lowest' ({self.lowest}); got {numbers}")
        return self


_LEVEL_TRIGGER = re.compile(r"^level\s*(?:>=|≥)?\s*(\d+)$")
PolicyAction = Literal["contacts", "surge", "vaccination"]
NonNegative = Annotated[float, Field(ge=0)]


class Policy(ContactScaling):
    """A triggered response: ``[[policies]]`` in a config.

    The trigger is checked at the end of each day on that day's indicators; the response is in force from
    ``delay_days`` later (at least the next day).
    """

    name: str = Field(description="Label in results, e.g. 're-apply 5K'.", min_length=1, max_length=200)
    trigger: str = Field(
        "activation",
        description="'activation' (the plan's activation rule), a criterion name of the threshold set, "
        "or 'level N' (epidemic level at least N; needs [levels]).",
    )
    action: PolicyAction = Field(
        description="'contacts': scale contacts by setting; 'surge': open a surge step of the capacity "
        "config; 'vaccination': a booster campaign."
    )
    delay_days: int = param(
        1,
        units="days",
        source="user (1: in force the day after the indicators are assessed)",
        description="Days from the assessment date to the first day the response is in force.",
        ge=1,
        le=365,
    )
    step: str | None = Field(None, description="For 'surge': name of the surge step to activate.")
    doses_per_day_by_age: tuple[NonNegative, ...] | None = param(
        None,
        units="doses/day",
        source="user",
        description="For 'vaccination': booster doses per day in each 10-year band 0-9 ... 80+.",
    )
    duration_days: int | None = param(
        None,
        units="days",
        source="user",
        description="Days the response stays in force (required for 'vaccination'; default: until lifted).",
        ge=1,
    )
    deescalate_after_days: int | None = param(
        None,
        units="days",
        source="user",
        description="Lift the response once its trigger has not held for this many days in a row (not for 'surge').",
        ge=1,
    )
    repeat: bool = Field(False, description="Fire again when the trigger holds again after being lifted or ended.")

    @field_validator("trigger")
    @classmethod
    def _check_trigger(cls, v: str) -> str:
        return v.strip()

    @property
    def trigger_level(self) -> int | None:
        """N for a ``'level N'`` trigger, else None."""
        m = _LEVEL_TRIGGER.match(self.trigger)
        return int(m.group(1)) if m else None

    @model_validator(mode="after")
    def _check(self) -> Policy:
        scaled = any(getattr(self, s) != 1.0 for s in SETTINGS) or self.isolation is not None
        if self.action == "contacts" and not scaled:
            raise ValueError("action 'contacts' needs at least one of home, school, work, community != 1, or isolation")
        if self.action != "contacts" and scaled:
            raise ValueError(f"home/school/work/community apply only to action 'contacts' (action is {self.action!r})")
        if self.action == "surge":
            if not self.step:
                raise ValueError("action 'surge' needs 'step': the name of a surge step in the capacity config")
            if self.deescalate_after_days is not None or self.duration_days is not None:
                raise ValueError("action 'surge' opens capacity for good: drop deescalate_after_days/duration_days")
        elif self.step is not None:
            raise ValueError("'step' applies only to action 'surge'")
        if self.action == "vaccination":
            if self.doses_per_day_by_age is None or len(self.doses_per_day_by_age) != N_AGE:
                raise ValueError(f"action 'vaccination' needs doses_per_day_by_age with {N_AGE} values (0-9 ... 80+)")
            if self.duration_days is None:
                raise ValueError("action 'vaccination' needs duration_days (length of the campaign)")
        elif self.doses_per_day_by_age is not None:
            raise ValueError("doses_per_day_by_age applies only to action 'vaccination'")
        if self.trigger.startswith("level") and self.trigger_level is None:
            raise ValueError(f"trigger {self.trigger!r}: write a level trigger as 'level 3'")
        return self


def check_policies(
    policies: tuple[Policy, ...],
    thresholds: ThresholdSet,
    levels: Levels | None,
    surge_steps: tuple[str, ...] | None = None,
) -> None:
    """Check policy triggers and surge steps; raise ``ValueError`` naming the field and what is allowed."""
    names = [p.name for p in policies]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"policies: duplicate names {dup}")
    allowed = ["activation", *(c.name for c in thresholds.criteria)]
    for i, p in enumerate(policies):
        if p.action == "surge" and surge_steps is not None and p.step not in surge_steps:
            raise ValueError(
                f"policies.{i}.step: unknown surge step {p.step!r}; configured: "
                + (", ".join(surge_steps) or "none (add [[capacity.surge]] steps)")
            )
        if p.trigger_level is not None:
            if levels is None:
                raise ValueError(f"policies.{i}.trigger: {p.trigger!r} needs a [levels] table")
            continue
        if p.trigger not in allowed:
            raise ValueError(
                f"policies.{i}.trigger: unknown trigger {p.trigger!r}; allowed: {', '.join(allowed)}, 'level N'"
            )
