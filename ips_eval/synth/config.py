"""What a synthetic delivery looks like: the knobs (`SynthConfig`) and the published targets.

The targets are the second-wave figures the study has published; the default delivery
reproduces them exactly at the default cut-off, so a pipeline that computes them differently
is wrong, not unlucky. Effect sizes are parameters so tests can plant an effect (or none)
and check that the models recover it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

#: Second-wave counties: (county, clients, clients with a competitive job). Published figures.
WAVE2_TARGETS: tuple[tuple[str, int, int], ...] = (
    ("Varsinais-Suomi", 124, 48),
    ("Keski-Suomi", 75, 22),
    ("Keski-Pohjanmaa", 73, 25),
    ("Kainuu", 66, 36),
    ("Pohjanmaa", 46, 14),
    ("Pohjois-Savo", 44, 14),
)

#: Strata where the published figures also fix the SMI split: county -> (n SMI, employed SMI
#: or None, employed non-SMI or None). Other counties draw SMI freely.
WAVE2_SMI: dict[str, tuple[int, int | None, int | None]] = {
    "Keski-Pohjanmaa": (28, None, None),
    "Kainuu": (60, 30, 6),
}

WAVE2_UNSUBSIDISED = 90  #: clients with >= 1 competitive job with palkkatuki = E
WAVE2_OTHER_ACTIVITY = 152  #: clients with no competitive job but another activity in [S, C]

#: Latest fidelity total on or before C per second-wave county (published).
WAVE2_FIDELITY: dict[str, int] = {
    "Varsinais-Suomi": 111,
    "Keski-Suomi": 102,
    "Keski-Pohjanmaa": 108,
    "Kainuu": 103,
    "Pohjanmaa": 101,
    "Pohjois-Savo": 98,
}

#: First wave (2020-2023): (county, clients, clients with a competitive job); 700 / 322 in all.
WAVE1_TARGETS: tuple[tuple[str, int, int], ...] = (
    ("Helsinki", 180, 76),
    ("Pirkanmaa", 160, 78),
    ("Pohjois-Pohjanmaa", 140, 72),
    ("Lappi", 120, 50),
    ("Etelä-Pohjanmaa", 100, 46),
)
WAVE1_FIDELITY: dict[str, int] = {
    "Helsinki": 97,
    "Pirkanmaa": 108,
    "Pohjois-Pohjanmaa": 113,
    "Lappi": 92,
    "Etelä-Pohjanmaa": 104,
}

#: IPS start windows (first and last month, inclusive) per wave.
WAVE_START_WINDOWS: dict[int, tuple[dt.date, dt.date]] = {
    1: (dt.date(2020, 9, 1), dt.date(2023, 6, 30)),
    2: (dt.date(2023, 3, 1), dt.date(2024, 10, 31)),
}


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the bytes of a synthetic delivery (same config -> same files).

    calibrate=True meets the published counts exactly (employment is chosen per county by
    weighted sampling without replacement, the weights being the odds of the logistic model
    below, so the planted covariate effects still push in their direction). calibrate=False
    draws employment as Bernoulli from that logistic model, so a test with many clients
    (`n_clients_wave2`, `n_clients_wave1`) can recover the odds ratios.
    """

    seed: int = 20241231
    cohort: int = 20_000  #: register comparison persons (ips = 0)
    cutoff: dt.date = dt.date(2024, 12, 31)
    calibrate: bool = True
    register_format: str = "mixed"  #: "csv", "parquet" or "mixed"
    messy: bool = True
    register: bool = True  #: write register/ at all
    #: Study-population sizes when calibrate=False (None = the published sizes 428 / 700).
    n_clients_wave2: int | None = None
    n_clients_wave1: int | None = None

    # Odds ratios of competitive employment (logistic model, per client).
    or_female: float = 1.15
    or_work_history_per_level: float = 1.35  #: trend OR per level of tyohistoria (0..3)
    or_smi: float = 0.7
    or_age_40_49: float = 0.75  #: age group 40-49 vs the rest
    or_higher_education: float = 1.6  #: koulutus = 4 vs the rest
    or_fidelity_per_10_points: float = 1.5  #: county fidelity total, per 10 points
    baseline_rate: float = 0.38  #: target share employed when calibrate=False (sets the intercept)
    unsubsidised_share: float = 90 / 159  #: of employed, calibrate=False
    other_activity_share: float = 152 / 269  #: of non-employed, calibrate=False

    # Register effects of IPS, in the 12 months from the index month (average effect on the treated).
    ips_effect_employed_months: float = 1.5
    ips_effect_earnings_eur: float = 1800.0
    null_effect: bool = False  #: plant no IPS effect at all (overrides the two above)
    #: Extra employed months for IPS clients aged 40-49 at the index date (ANALYSIS_PLAN model 9,
    #: "for whom": the final report found employment most likely at that age): the clients of
    #: 40-49 then gain ips_effect_employed_months + this, the others ips_effect_employed_months,
    #: so the average effect over all IPS clients lies between the two. The default plants it, so
    #: that model 9 has a subgroup effect to recover; 0 plants one effect for everybody.
    ips_effect_extra_months_age_40_49: float = 2.0

    chunk_persons: int = 25_000  #: register persons generated and written per chunk
    force_parquet_above: int = 50_000  #: cohorts larger than this are written as Parquet only

    def __post_init__(self) -> None:
        if self.register_format not in ("csv", "parquet", "mixed"):
            raise ValueError(f"register_format must be csv, parquet or mixed, not {self.register_format!r}")
        if self.cohort < 0:
            raise ValueError("cohort must be >= 0")
        if self.calibrate and (self.n_clients_wave1 or self.n_clients_wave2):
            raise ValueError("n_clients_wave1/2 scale the population only with calibrate=False")
        if self.ips_effect_employed_months < 0 or self.ips_effect_employed_months > 6:
            raise ValueError("ips_effect_employed_months must be within 0..6 (months of 12)")
        if not 0 <= self.ips_effect_employed_months + self.ips_effect_extra_months_age_40_49 <= 6:
            raise ValueError("the effect for clients aged 40-49 must be within 0..6 (months of 12)")
        if self.ips_effect_employed_months == 0 and self.ips_effect_earnings_eur != 0 and not self.null_effect:
            raise ValueError("an earnings effect needs an employed-months effect (earnings come from jobs)")

    @property
    def effect_months(self) -> float:
        return 0.0 if self.null_effect else float(self.ips_effect_employed_months)

    @property
    def effect_extra_40_49(self) -> float:
        return 0.0 if self.null_effect else float(self.ips_effect_extra_months_age_40_49)

    @property
    def effect_eur(self) -> float:
        return 0.0 if self.null_effect else float(self.ips_effect_earnings_eur)

    @property
    def export_date(self) -> dt.date:
        """When the projects exported their files: a little after the cut-off."""
        return self.cutoff + dt.timedelta(days=20)

    def register_formats(self) -> dict[str, str]:
        """File format per register extract."""
        names = ("cohort", "employment", "earnings", "pay_subsidy", "benefits", "psychiatric_care")
        fmt = self.register_format
        if self.cohort > self.force_parquet_above:
            fmt = "parquet"
        if fmt == "mixed":
            return {n: ("csv" if n in ("cohort", "benefits") else "parquet") for n in names}
        return {n: fmt for n in names}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cutoff"] = self.cutoff.isoformat()
        return d
