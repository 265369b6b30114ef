"""Config sections for the health system: care pathway, capacity and oxygen.

``care`` is the three-tier pathway; ``capacity`` the beds, ICU, oxygen supply and surge steps; ``oxygen``
the flows per patient and the unit conversions.

Sources (``docs/sources.md``)
--------------------------------------------
Fatality given care, and the "get / not get" structure for patients who find no bed, oxygen or ICU,
come from squire (mrc-ide/squire ``R/run.R::default_probs``, the version whose ``prob_hosp`` and
``prob_severe`` are the IHR and P(ICU | hospitalised) already used by :class:`~scenarios.config.Disease`),
collapsed from 17 five-year bands to our 10-year bands with weights ``population x P(hosp) x P(tier)``
(UN WPP 2024, Vietnam 2020). Lengths of stay are squire's ``default_durations`` (docs/sources.md s.2), each
an Erlang-2 distribution as in squire (``gamma = 2 / dur``). squire was chosen over Covasim because the
severity split upstream is squire's: the same pathway keeps squire's infection fatality (which assumes
treatment) intact, and squire was built for health-system capacity in low- and middle-income countries
(it underlies WHO ESFT). Covasim's severe/critical stays (18.1 days, lognormal) are about twice squire's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import N_AGE, StrictModel, param

__all__ = ["Duration", "Care", "SurgeStep", "Capacity", "Oxygen"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ByAge = Annotated[tuple[Fraction, ...], Field(min_length=N_AGE, max_length=N_AGE)]

# squire default_probs collapsed to 10-year bands (module docstring): P(death | tier-2 oxygen, treated)
# = prob_non_severe_death_treatment and P(death | ICU, treated) = prob_severe_death_treatment.
SQUIRE_P_DEATH_OXYGEN = (0.0134, 0.0161, 0.0193, 0.0246, 0.0333, 0.0465, 0.0583, 0.1526, 0.3405)
SQUIRE_P_DEATH_ICU = (0.2425, 0.3451, 0.5536, 0.5557, 0.4652, 0.4134, 0.4883, 0.5966, 0.9926)
_SQUIRE = "squire R/run.R::default_probs (docs/sources.md s.1; collapsed to 10-year bands, Vietnam weights)"
_SQUIRE_DUR = "squire default_durations (docs/sources.md s.2); Erlang-2 as squire (gamma = 2/dur)"


class Duration(StrictModel):
    """A delay or a length of stay: a gamma distribution given by its mean and standard deviation.

    It is discretised to whole days preserving the mean exactly (see :func:`scenarios.disease.day_kernel`);
    ``sd_days = 0`` gives a fixed duration (split between the two nearest whole days). Omitting
    ``sd_days`` gives squire's Erlang-2 shape (``mean / sqrt(2)``), so ``{mean_days = 12}`` is enough.
    """

    mean_days: float = param(units="days", source="see the field using it", description="Mean.", ge=0, le=365)
    sd_days: float | None = param(
        None,
        units="days",
        source="squire R/run.R: two compartments per stage (gamma = 2/dur), i.e. Erlang-2",
        description="Standard deviation; omit for an Erlang-2 shape (mean / sqrt(2)).",
        ge=0,
        le=365,
    )

    @property
    def sd(self) -> float:
        """Standard deviation in days (Erlang-2 when ``sd_days`` is omitted)."""
        return self.mean_days / 2**0.5 if self.sd_days is None else self.sd_days


def _erlang2(mean: float) -> Duration:
    return Duration(mean_days=mean)


class Care(StrictModel):
    """The three-tier care pathway (tháp 3 tầng) after onset of severe (oxygen) or critical (ICU) illness.

    Tier 1 (home/community care) holds mild cases for ``home_care_days`` and severe/critical cases until
    they seek admission; tier 2 holds patients on oxygen in a bed; tier 3 holds critical patients in
    staffed ICU beds, survivors stepping down to a tier-2 bed for ``los_stepdown``.
    """

    onset_to_admission: Duration = param(
        _erlang2(4.5),
        units="days",
        source="squire dur_ICase 4.5, Erlang-2 (R/run.R gamma_ICase = 2/dur_ICase)",
        description="Delay from symptom onset to seeking admission, for severe and critical patients.",
    )
    los_oxygen_survive: Duration = param(
        _erlang2(9.0),
        units="days",
        source=_SQUIRE_DUR + ": dur_get_ox_survive 9",
        description="Stay in a tier-2 oxygen bed of a patient who recovers.",
    )
    los_oxygen_die: Duration = param(
        _erlang2(9.0),
        units="days",
        source=_SQUIRE_DUR + ": dur_get_ox_die 9",
        description="Stay in a tier-2 oxygen bed of a patient who dies.",
    )
    los_icu_survive: Duration = param(
        _erlang2(14.8),
        units="days",
        source=_SQUIRE_DUR + ": dur_get_mv_survive 14.8",
        description="Stay in ICU of a patient who recovers (then steps down to tier 2).",
    )
    los_icu_die: Duration = param(
        _erlang2(11.1),
        units="days",
        source=_SQUIRE_DUR + ": dur_get_mv_die 11.1",
        description="Stay in ICU of a patient who dies.",
    )
    los_stepdown: Duration = param(
        _erlang2(3.0),
        units="days",
        source=_SQUIRE_DUR + ": dur_rec 3 (recovery after ventilation)",
        description="Stay in a tier-2 bed after ICU, before discharge.",
    )
    untreated_oxygen_survive: Duration = param(
        _erlang2(4.5),
        units="days",
        source=_SQUIRE_DUR + ": dur_not_get_ox_survive = 0.5 x dur_get_ox_survive",
        description="Course of an oxygen-needing patient without oxygen who recovers.",
    )
    untreated_oxygen_die: Duration = param(
        _erlang2(4.5),
        units="days",
        source=_SQUIRE_DUR + ": dur_not_get_ox_die = 0.5 x dur_get_ox_die",
        description="Course of an oxygen-needing patient without oxygen who dies.",
    )
    untreated_icu_survive: Duration = param(
        _erlang2(7.4),
        units="days",
        source=_SQUIRE_DUR + ": dur_not_get_mv_survive = 0.5 x dur_get_mv_survive",
        description="Course of a critical patient without ICU who recovers.",
    )
    untreated_icu_die: Duration = param(
        _erlang2(1.0),
        units="days",
        source="squire R/run.R dur_not_get_mv_die = 1 (verified)",
        description="Course of a critical patient without ICU who dies.",
    )
    p_death_oxygen_by_age: ByAge = param(
        SQUIRE_P_DEATH_OXYGEN,
        units="1",
        source=_SQUIRE + ": prob_non_severe_death_treatment",
        description="Probability of death of a tier-2 patient who gets an oxygen bed, by age.",
    )
    p_death_icu_by_age: ByAge = param(
        SQUIRE_P_DEATH_ICU,
        units="1",
        source=_SQUIRE + ": prob_severe_death_treatment",
        description="Probability of death of a critical patient who gets a staffed ICU bed, by age.",
    )
    p_death_oxygen_untreated: Fraction = param(
        0.5,
        units="1",
        source="squire R/run.R::default_probs prob_non_severe_death_no_treatment 0.5 (older squire: 0.6)",
        description=(
            "Probability of death of an oxygen-needing patient who gets no bed or no oxygen; at least the "
            "fatality with care in each age band."
        ),
    )
    p_death_icu_untreated: Fraction = param(
        0.95,
        units="1",
        source="squire R/run.R::default_probs prob_severe_death_no_treatment 0.95",
        description=(
            "Probability of death of a critical patient who gets no ICU bed; at least the fatality with care "
            "in each age band (squire's 80+ value with care, 0.993, exceeds its 0.95 without)."
        ),
    )
    overflow: Literal["lost", "queue"] = Field(
        "lost",
        description=(
            "What happens to a patient who finds no bed/oxygen/ICU. 'lost' (squire's get/not-get structure, "
            "the one the untreated fatality was estimated for): lost to care for the whole illness. "
            "'queue': waits, untreated, and is admitted (first come, first served) when a place frees up "
            "before the untreated course ends in recovery or death."
        ),
    )
    home_care_days: float = param(
        7.0,
        units="days",
        source="assumption: home isolation and monitoring of mild F0 for 7 days (MoH 2022)",
        description="Days a mild case stays in tier-1 home/community care after onset.",
        ge=0,
        le=60,
    )


class SurgeStep(StrictModel):
    """Extra capacity (field hospital, ICU centre, oxygen) that comes online a lead time after activation."""

    name: str = Field(
        description="Name used by policies to activate it, e.g. 'field hospital 1'.", min_length=1, max_length=200
    )
    beds_oxygen: float | None = param(
        None, units="beds", source="user", description="Oxygen-capable tier-2 beds it adds.", ge=0
    )
    beds_oxygen_per_100k: float = param(
        0.0,
        units="beds per 100,000 people",
        source="user",
        description="Tier-2 beds it adds per 100,000 people (ignored when beds_oxygen is given).",
        ge=0,
    )
    beds_icu: float | None = param(None, units="beds", source="user", description="ICU beds it adds.", ge=0)
    beds_icu_per_100k: float = param(
        0.0,
        units="beds per 100,000 people",
        source="user",
        description="ICU beds it adds per 100,000 people (ignored when beds_icu is given).",
        ge=0,
    )
    oxygen_m3_per_day: float = param(
        0.0, units="m3/day", source="user", description="Oxygen supply it adds (gas at 1 atm).", ge=0
    )
    lead_time_days: int = param(
        7,
        units="days",
        source="assumption: about a week to open a field hospital (Vietnam 2021 reports)",
        description="Days from activation until it is in service.",
        ge=0,
        le=365,
    )
    activate_on: dt.date | None = param(
        None,
        units="date",
        source="user",
        description="Date it is activated; omit to leave it for a triggered policy to activate.",
    )


class Capacity(StrictModel):
    """Beds, staffed ICU beds and oxygen supply of the area for COVID-19 patients, with surge steps.

    Absolute counts win over per-100,000 figures, so a province can give its real numbers and a quick
    what-if can rely on the per-100,000 defaults.
    """

    beds_oxygen: float | None = param(
        None,
        units="beds",
        source="user",
        description="Oxygen-capable beds set aside for COVID-19 (tier 2); overrides beds_oxygen_per_100k.",
        ge=0,
    )
    beds_oxygen_per_100k: float = param(
        48.0,
        units="beds per 100,000 people",
        source="derived: 32 hospital beds/10,000 (Vietnamnet/VNA 2023-24) x 15% for COVID-19 (assumption)",
        description="Oxygen-capable tier-2 beds for COVID-19 per 100,000 people.",
        ge=0,
    )
    non_covid_share_oxygen: Fraction = param(
        0.0,
        units="1",
        source="assumption: designated beds are cleared; set your own",
        description="Share of the tier-2 COVID-19 beds already occupied by other patients.",
    )
    beds_icu: float | None = param(
        None,
        units="beds",
        source="user",
        description="ICU beds for COVID-19 (tier 3); overrides beds_icu_per_100k.",
        ge=0,
    )
    beds_icu_per_100k: float = param(
        3.5,
        units="beds per 100,000 people",
        source="squire LMIC average 3.5/100k (docs/sources.md s.6); Phua 2020 LMIC median 2.3",
        description="ICU beds for COVID-19 per 100,000 people.",
        ge=0,
    )
    non_covid_share_icu: Fraction = param(
        0.0,
        units="1",
        source="assumption: designated beds are cleared; set your own",
        description="Share of the COVID-19 ICU beds already occupied by other patients.",
    )
    icu_staffed_share: Fraction = param(
        1.0,
        units="1",
        source="assumption: every designated ICU bed has its staff; set your own",
        description="Share of ICU beds with enough staff to run them (before absence).",
    )
    staff_absence_per_prevalence: float = param(
        0.0,
        units="1",
        source="user (0 = off); health workers' infection risk was ~3.4x the community's "
        "(Nguyen et al. Lancet Public Health 2020, recalled)",
        description=(
            "Share of ICU staff absent per unit of community prevalence (infectious / population); "
            "e.g. 3.4 x isolation days / infectious days."
        ),
        ge=0,
        le=1000,
    )
    staff_absence_max: Fraction = param(
        0.3,
        units="1",
        source="assumption",
        description="Ceiling on the share of ICU staff absent (and so of staffed ICU beds out of service).",
    )
    oxygen_liquid_tonnes_per_day: float | None = param(
        None,
        units="t/day",
        source="user",
        description="Liquid oxygen delivered per day.",
        ge=0,
    )
    oxygen_cylinders_per_day: float | None = param(
        None,
        units="cylinders/day",
        source="user",
        description="Full cylinders delivered per day (size and pressure in [oxygen]).",
        ge=0,
    )
    oxygen_generators_m3_per_day: float | None = param(
        None,
        units="m3/day",
        source="user",
        description="On-site generators (PSA) and concentrators, output per day (gas at 1 atm).",
        ge=0,
    )
    oxygen_supply_m3_per_day_per_100k: float = param(
        868.0,
        units="m3/day per 100,000 people",
        source="derived: national production 851,000 m3/day in 2021 (MoH, docs/sources.md s.6) / 98.08 M "
        "people; an upper bound, give real numbers",
        description="Oxygen supply per 100,000 people, used only when no source (liquid, cylinders, "
        "generators) is given.",
        ge=0,
    )
    surge: tuple[SurgeStep, ...] = Field((), description="Surge steps (field hospitals, ICU, oxygen).")

    @model_validator(mode="after")
    def _check(self) -> Capacity:
        names = [s.name for s in self.surge]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"surge step names must be unique; repeated: {', '.join(dupes)}")
        return self


class Oxygen(StrictModel):
    """Oxygen use per patient and unit conversions (gas volumes at about 1 atm)."""

    flow_severe_l_per_min: float = param(
        10.0,
        units="L/min",
        source="WHO oxygen guidance 2020; mrc-ide/esft o2_flow_sev = 10",
        description=(
            "Flow for a tier-2 patient (and step-down). Observed ward use is lower: 3.0 L/min "
            "(Hvarfner 2022), "
            "5.6 L/min all oxygen patients (ZSFG 2024)."
        ),
        ge=0,
        le=100,
    )
    flow_critical_l_per_min: float = param(
        30.0,
        units="L/min",
        source="WHO oxygen guidance 2020; mrc-ide/esft o2_flow_crit_* = 30",
        description="Flow for an ICU patient.",
        ge=0,
        le=200,
    )
    cylinder_water_litres: float = param(
        40.0,
        units="L",
        source="docs/sources.md s.3 (common 40 L medical cylinder)",
        description="Water capacity of a cylinder.",
        gt=0,
        le=100,
    )
    cylinder_pressure_bar: float = param(
        150.0,
        units="bar",
        source="docs/sources.md s.3 (150 bar filling)",
        description="Filling pressure of a cylinder.",
        gt=0,
        le=300,
    )
    cylinder_gas: Literal["ideal", "real"] = Field(
        "ideal",
        description=(
            "Gas in a cylinder: 'ideal' = water litres x bar / 1.01325 / 1000 m3 (the usual planning figure, "
            "~6% below the real content, so cylinder counts err on the safe side); 'real' = real-gas "
            "content at "
            "15 C (CoolProp, docs/sources.md s.3), tabulated up to 200 bar."
        ),
    )
    liquid_m3_per_tonne: float = param(
        738.0,
        units="m3/t",
        source="CoolProp, 15 C (docs/sources.md s.3)",
        description="Gas volume of one tonne of liquid oxygen.",
        gt=0,
    )

    @model_validator(mode="after")
    def _check(self) -> Oxygen:
        if self.cylinder_gas == "real" and self.cylinder_pressure_bar > 200:
            raise ValueError("cylinder_gas = 'real' is tabulated up to 200 bar; use 'ideal' above that")
        return self
