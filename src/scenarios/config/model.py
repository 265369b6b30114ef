"""What-if config schema: scenario, population, disease, variants, immunity, interventions, reporting.

Every numeric field says its units and the source of its default (``param``); the reference for the
sources is ``docs/sources.md`` and the docs in ``README.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import N_AGE, ContactScaling, StrictModel, param
from .provinces import find_province, province_candidates, province_names

__all__ = [
    "Scenario",
    "Population",
    "Disease",
    "ResidentVariant",
    "NewVariant",
    "Variants",
    "Immunity",
    "Intervention",
    "Reporting",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ByAge = Annotated[tuple[Fraction, ...], Field(min_length=N_AGE, max_length=N_AGE)]


def at_least_a_day(value: float, name: str, alternative: str = "") -> float:
    """Refuse a mean duration under one day: a daily model cannot resolve it (and the ODE becomes stiff)."""
    if value < 1:
        extra = f" ({alternative})" if alternative else ""
        raise ValueError(
            f"must be at least 1 day{extra}: the model advances one day at a time, so shorter "
            f"periods are not meaningful (got {value:g})"
        )
    return value


def _by_age(values: list[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


# squire R/run.R::default_probs (mrc-ide/squire 9fd16c4), collapsed to 10-year bands with Vietnam weights
# (docs/sources.md section 1): IHR per infection x P(ICU | hospitalised) and x (1 - P(ICU | hospitalised)).
_SQUIRE_IHR = (0.0010, 0.0020, 0.0040, 0.0078, 0.0154, 0.0303, 0.0587, 0.116, 0.233)
_SQUIRE_ICU_GIVEN_HOSP = (0.18, 0.16, 0.12, 0.15, 0.22, 0.31, 0.32, 0.20, 0.057)
SQUIRE_P_CRITICAL = _by_age([h * c for h, c in zip(_SQUIRE_IHR, _SQUIRE_ICU_GIVEN_HOSP, strict=True)])
SQUIRE_P_SEVERE = _by_age([h * (1 - c) for h, c in zip(_SQUIRE_IHR, _SQUIRE_ICU_GIVEN_HOSP, strict=True)])


class Scenario(StrictModel):
    """Name and time window of the what-if."""

    name: str = Field(description="Name shown on results and figures.", min_length=1, max_length=200)
    start_date: dt.date = param(units="date", source="user", description="First simulated day (day 0).")
    horizon_days: int = param(units="days", source="user", description="Number of simulated days.", ge=1, le=3650)
    description: str = Field("", description="Free text: what this what-if asks.")

    @property
    def end_date(self) -> dt.date:
        """Last simulated date."""
        return self.start_date + dt.timedelta(days=self.horizon_days - 1)


class Population(StrictModel):
    """Who lives in the modelled area: size, age structure and how ages mix."""

    province: str | None = Field(
        None,
        description="One of the 34 provinces of 2025, by code (VN91) or name, with or without diacritics.",
    )
    total: int | None = param(
        None,
        units="people",
        source="data/vietnam/provinces_34_2025_boundaries.csv (WorldPop 2020) when a province is given",
        description="Total population; overrides the province's figure (e.g. a small area within it).",
        gt=0,
        le=200_000_000,
    )
    name: str | None = Field(
        None, description="Display name of the area; defaults to the province's name.", max_length=200
    )
    age_shares: ByAge | None = param(
        None,
        units="1",
        source="UN WPP 2024, Vietnam 2020 (data/vietnam/age_structure_wpp2024.csv)",
        description="Share of the population in each 10-year band 0-9 ... 80+; must sum to 1.",
    )
    contacts: Literal["prem2021", "homogeneous"] = Field(
        "prem2021",
        description=(
            "'prem2021': age-mixing by setting from Prem et al. 2021 (Vietnam); "
            "'homogeneous': everyone mixes at random (a single well-mixed group, all in the community setting)."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> Population:
        if self.province is None and self.total is None:
            raise ValueError("give 'province' (code or name) or 'total' (number of people), or both")
        if self.province is not None and find_province(self.province) is None:
            near = province_candidates(self.province)
            if near:
                raise ValueError(
                    f"province {self.province!r} is ambiguous or incomplete; did you mean: " + ", ".join(near)
                )
            raise ValueError(
                f"unknown province {self.province!r}; allowed: a code VN01..VN96 or one of "
                + ", ".join(province_names())
            )
        if self.age_shares is not None and not math.isclose(sum(self.age_shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"age_shares must sum to 1 (they sum to {sum(self.age_shares):.6g})")
        return self

    @property
    def people(self) -> int:
        """Total population: ``total`` when given, else the province's figure."""
        return self.total if self.total is not None else find_province(self.province).population


class Disease(StrictModel):
    """Natural history and severity of the resident variant, per infection, in an unprotected person."""

    latent_days: float = param(
        4.6,
        units="days",
        source="squire R/run.R::default_durations dur_E (two compartments)",
        description="Mean time from infection to becoming infectious (= symptom onset here).",
        gt=0,
    )
    latent_stages: int = param(
        2,
        units="1",
        source="squire R/run.R (E1, E2)",
        description="Erlang shape of the latent period (number of stages).",
        ge=1,
        le=10,
    )
    infectious_days: float = param(
        2.1,
        units="days",
        source="squire R/run.R::default_durations dur_IMild",
        description="Mean infectious period.",
        gt=0,
    )
    infectious_stages: int = param(
        2,
        units="1",
        source="assumption: Erlang-2 narrows the infectious period as observed (squire uses 1)",
        description="Erlang shape of the infectious period (number of stages).",
        ge=1,
        le=10,
    )
    p_severe_by_age: ByAge = param(
        SQUIRE_P_SEVERE,
        units="1",
        source="squire default_probs: IHR x (1 - P(ICU|hosp)), 10-year bands (docs/sources.md s.1)",
        description="Probability per infection of needing oxygen but not ICU (tier 2), by age.",
    )
    p_critical_by_age: ByAge = param(
        SQUIRE_P_CRITICAL,
        units="1",
        source="squire default_probs: IHR x P(ICU|hosp), 10-year bands (docs/sources.md s.1)",
        description="Probability per infection of needing ICU (tier 3), by age.",
    )

    @field_validator("latent_days", "infectious_days")
    @classmethod
    def _at_least_a_day(cls, value: float, info: ValidationInfo) -> float:
        return at_least_a_day(value, info.field_name)

    @model_validator(mode="after")
    def _check(self) -> Disease:
        for age, (s, c) in enumerate(zip(self.p_severe_by_age, self.p_critical_by_age, strict=True)):
            if s + c > 1:
                raise ValueError(f"p_severe_by_age + p_critical_by_age exceeds 1 in age band {age}")
        return self


class ResidentVariant(StrictModel):
    """The variant circulating at the start."""

    name: str = Field("resident", description="Label in results.", max_length=200)
    r0: float | None = param(
        None,
        units="1",
        source="user",
        description="Basic reproduction number in a fully susceptible population with baseline contacts.",
        gt=0,
        le=30,
    )
    rt_start: float | None = param(
        None,
        units="1",
        source="user",
        description="Effective reproduction number on day 0, given immunity and interventions in force then.",
        gt=0,
        le=30,
    )
    initial_infections: float = param(
        10.0,
        units="people",
        source="user",
        description="People newly infected (latent) on day 0, spread over ages by population.",
        ge=0,
    )

    @model_validator(mode="after")
    def _check(self) -> ResidentVariant:
        if (self.r0 is None) == (self.rt_start is None):
            raise ValueError("give exactly one of 'r0' and 'rt_start'")
        return self


class NewVariant(StrictModel):
    """A new, possibly more dangerous variant introduced by importation."""

    name: str = Field("new variant", description="Label in results.", max_length=200)
    transmissibility_multiplier: float = param(
        1.0,
        units="1",
        source="user (Covasim presets: alpha 1.67, delta 2.2)",
        description="Transmission rate relative to the resident variant.",
        gt=0,
        le=10,
    )
    immune_escape: Fraction = param(
        0.0,
        units="1",
        source="user (Imperial Report 49: Omicron reinfection risk 5.4x Delta)",
        description="Share of protection against infection (vaccine or resident-variant infection) it escapes.",
    )
    severe_escape: Fraction = param(
        0.0,
        units="1",
        source="user (Imperial Report 48: booster VE vs hospitalisation 96.5% Delta -> 80-86% Omicron)",
        description="Share of protection against severe disease it escapes.",
    )
    severity_multiplier: float = param(
        1.0,
        units="1",
        source="user (Fisman & Tuite 2021, Delta: hospitalisation 2.08; Nyberg 2022, BA.1: 0.41)",
        description="Risk of severe and critical disease per unprotected infection, relative to resident.",
        gt=0,
        le=20,
    )
    introduction_date: dt.date = param(units="date", source="user", description="First day of importations.")
    imported_per_day: float = param(
        5.0,
        units="people/day",
        source="user",
        description="Imported infections per day.",
        ge=0,
    )
    import_days: int = param(
        14,
        units="days",
        source="user",
        description="How many days importations continue.",
        ge=1,
    )


class Variants(StrictModel):
    """The resident variant and, optionally, a new one."""

    resident: ResidentVariant
    new: NewVariant | None = None


class Immunity(StrictModel):
    """Protection at the start, from vaccination and prior infection, and how it wanes."""

    coverage_dose2_by_age: ByAge = param(
        (0.0,) * N_AGE,
        units="1",
        source="user (default: no vaccination)",
        description="Share with at least two doses (primary series), by age.",
    )
    coverage_dose3_by_age: ByAge = param(
        (0.0,) * N_AGE,
        units="1",
        source="user (default: no booster)",
        description="Share with at least three doses (booster), by age; at most the two-dose share.",
    )
    prior_infection_by_age: ByAge = param(
        (0.0,) * N_AGE,
        units="1",
        source="user (default: none)",
        description="Share infected before day 0 (and not boosted since), by age.",
    )
    initial_waned_share: Fraction = param(
        0.0,
        units="1",
        source="user (default: all protection recent on day 0)",
        description="Share of the vaccinated and previously infected whose protection has already waned by day 0.",
    )
    ve_infection_dose2: Fraction = param(
        0.655,
        units="1",
        source="Andrews et al. NEJM 2022, 2x BNT vs symptomatic Omicron, 2-4 wk (recalled)",
        description="Protection against infection, two doses, before waning.",
    )
    ve_infection_dose3: Fraction = param(
        0.672,
        units="1",
        source="Andrews et al. NEJM 2022, BNT booster vs symptomatic Omicron (recalled)",
        description="Protection against infection, booster, before waning.",
    )
    ve_infection_prior: Fraction = param(
        0.84,
        units="1",
        source="Hall et al. Lancet 2021 (SIREN), reinfection protection (recalled)",
        description="Protection against reinfection after infection, before waning.",
    )
    ve_infection_waned: Fraction = param(
        0.088,
        units="1",
        source="Andrews et al. NEJM 2022, 2x BNT >= 25 weeks (recalled)",
        description="Residual protection against infection once waned.",
    )
    ve_severe_dose2: Fraction = param(
        0.72,
        units="1",
        source="UKHSA 2022, two doses vs Omicron hospitalisation (recalled)",
        description="Protection against severe disease (oxygen or ICU), two doses, before waning.",
    )
    ve_severe_dose3: Fraction = param(
        0.83,
        units="1",
        source="Imperial Report 48: booster VE vs hospitalisation with Omicron 80-86%",
        description="Protection against severe disease, booster, before waning.",
    )
    ve_severe_prior: Fraction = param(
        0.85,
        units="1",
        source="assumption: as a booster (Imperial Report 48 range)",
        description="Protection against severe disease after infection, before waning.",
    )
    ve_severe_waned: Fraction = param(
        0.62,
        units="1",
        source="Feikin et al. Lancet 2022: severe-disease VE falls ~10 pp over 6 months (recalled)",
        description="Residual protection against severe disease once waned.",
    )
    waning_days: float | None = param(
        180.0,
        units="days",
        source="Feikin et al. Lancet 2022 (protection measured 1 to 6 months)",
        description=(
            "Mean time until protection from vaccination drops to the waned level (past infection: "
            "waning_days_infection); omit or 0 for no waning."
        ),
        ge=0,
    )

    waning_days_infection: float | None = param(
        3760.0,
        units="days",
        source=(
            "fit of 've_infection_prior + waning to ve_infection_waned' to Hall et al. Lancet 2021 (SIREN: 84% "
            "protection, median 7 months of follow-up) and COVID-19 Forecasting Team, Lancet 2023 (pre-Omicron "
            "reinfection protection 78.6% at 40 weeks; recalled); see docs/immunity.md"
        ),
        description=(
            "Mean time until protection from a past infection drops to the waned level (its own waning, slower "
            "than vaccine protection's); omit or 0 for no waning."
        ),
        ge=0,
    )

    @field_validator("waning_days", "waning_days_infection")
    @classmethod
    def _waning_at_least_a_day(cls, value: float | None, info: ValidationInfo) -> float | None:
        return value if not value else at_least_a_day(value, info.field_name, "or 0 for no waning")

    @model_validator(mode="after")
    def _check(self) -> Immunity:
        for a, (d2, d3, p) in enumerate(
            zip(
                self.coverage_dose2_by_age,
                self.coverage_dose3_by_age,
                self.prior_infection_by_age,
                strict=True,
            )
        ):
            if d3 > d2 + 1e-12:
                raise ValueError(f"coverage_dose3_by_age exceeds coverage_dose2_by_age in age band {a}")
            if p > 1 - d3 + 1e-12:
                raise ValueError(f"prior_infection_by_age exceeds the unboosted share in age band {a}")
        for kind in ("infection", "severe"):
            waned = getattr(self, f"ve_{kind}_waned")
            for src in ("dose2", "dose3", "prior"):
                if getattr(self, f"ve_{kind}_{src}") < waned:
                    raise ValueError(f"ve_{kind}_{src} is below ve_{kind}_waned (waning cannot raise protection)")
        return self

    def ve_severe_given_infection(self, ve_infection: float, ve_severe: float) -> float:
        """Protection against severe disease among the infected: 1 - (1 - VE_severe) / (1 - VE_infection)."""
        if ve_infection >= 1:
            return 0.0
        return max(0.0, 1.0 - (1.0 - ve_severe) / (1.0 - ve_infection))


class Intervention(ContactScaling):
    """Scale contacts by setting between two dates (inclusive); overlapping interventions multiply."""

    name: str = Field(description="Label, e.g. 're-apply 5K'.", max_length=200)
    start_date: dt.date = param(units="date", source="user", description="First day in force.")
    end_date: dt.date | None = param(None, units="date", source="user", description="Last day in force.")

    @model_validator(mode="after")
    def _check(self) -> Intervention:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        return self

    def active(self, date: dt.date) -> bool:
        """Whether the intervention is in force on ``date``."""
        return self.start_date <= date and (self.end_date is None or date <= self.end_date)


class Reporting(StrictModel):
    """How infections become reported cases."""

    ascertainment: Fraction = param(
        0.25,
        units="1",
        source="assumption (no Vietnam estimate for 2022-23); calibrate to local testing",
        description="Share of infections that become reported cases.",
    )
    delay_mean_days: float = param(
        2.0,
        units="days",
        source="assumption: onset to test result under symptomatic testing",
        description="Mean delay from onset to the report date.",
        ge=0,
        le=60,
    )
    delay_sd_days: float = param(
        1.0,
        units="days",
        source="assumption",
        description="Standard deviation of the reporting delay.",
        ge=0,
        le=60,
    )
