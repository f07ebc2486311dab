"""The baseline: `marts.register_outcomes` written plainly in pandas, as an analyst would.

Reads the register extracts of a delivery (Parquet or CSV, as delivered) with pandas, builds
the person x month grid around each index month, merges the spells into it, and counts.
It follows ANALYSIS_PLAN "Register outcomes" and the decisions of docs/outcomes.md (spells as
known at C: starting after C ignored, open spells and ends after C run to C; earnings rows that
are exact duplicates count once; *_post12, *_post24 and *_post36 missing unless their window
ends on or before C).

Who may be used comes from the project side, as it would for a register analyst: the
study-population clients with register consent (`consented`) and every client of
clients.csv (`clients`, never a comparison person). The benchmark takes both lists from the
warehouse before it starts the clock (1 300 pseudonyms; reading them is not what is measured).

    from pandas_baseline import register_outcomes
    frame = register_outcomes(delivery, cutoff, consented, clients)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

DISABILITY_BENEFITS = ["tkel", "kuntoutustuki", "sairauspaivaraha", "kuntoutusraha"]
SMI_PREFIXES = ("F2", "F30", "F31", "F322", "F323", "F332", "F333")
DATE_COLUMNS = {"cohort": ["indeksipvm"], "employment": ["alkupvm", "loppupvm"],
                "benefits": ["alkupvm", "loppupvm"], "earnings": [], "psychiatric_care": ["alkupvm", "loppupvm"]}
INPATIENT = ["osasto"]


def read_extract(delivery: Path, name: str) -> pd.DataFrame:
    """One register extract as delivered: register/<name>.parquet or register/<name>.csv."""
    parquet = Path(delivery) / "register" / f"{name}.parquet"
    if parquet.exists():
        frame = pd.read_parquet(parquet)
    else:
        frame = pd.read_csv(Path(delivery) / "register" / f"{name}.csv", sep=";", dtype=str)
    for col in DATE_COLUMNS[name]:
        frame[col] = pd.to_datetime(frame[col])
    return frame


def month_number(dates: pd.Series) -> pd.Series:
    """Calendar month as a running number (year * 12 + month - 1)."""
    return dates.dt.year * 12 + dates.dt.month - 1


def inpatient_days(care: pd.DataFrame, persons: pd.DataFrame, C: pd.Timestamp) -> pd.Series:
    """Distinct days from the first day of month -24 to the last of month -13 in an inpatient episode."""
    care = care[care["hoitomuoto"].isin(INPATIENT) & (care["alkupvm"] <= C)]
    care = care.merge(persons[["person_id", "index_month"]], on="person_id")
    lo = (care["index_month"] - pd.DateOffset(months=24)).clip(lower=care["alkupvm"])
    hi = (care["index_month"] - pd.DateOffset(months=12) - pd.Timedelta(days=1)).clip(
        upper=care["loppupvm"].fillna(C).clip(upper=C))
    keep = hi >= lo
    care, lo, hi = care[keep], lo[keep], hi[keep]
    days = pd.DataFrame({"person_id": care["person_id"].repeat((hi - lo).dt.days + 1).to_numpy()})
    days["day"] = np.concatenate([pd.date_range(a, b).to_numpy() for a, b in zip(lo, hi)]) if len(care) \
        else np.array([], "datetime64[ns]")
    return days.drop_duplicates().groupby("person_id").size().rename("psych_inpatient_days_pre24_13")


def register_outcomes(delivery: Path, cutoff: dt.date, consented: set[str], clients: set[str]) -> pd.DataFrame:
    C = pd.Timestamp(cutoff)

    # -- who is counted ------------------------------------------------------------------
    cohort = read_extract(delivery, "cohort").drop_duplicates("person_id", keep="first")
    cohort["ips"] = cohort["ips"].astype(int)
    usable = ((cohort["ips"] == 1) & cohort["person_id"].isin(consented)) | (
        (cohort["ips"] == 0) & ~cohort["person_id"].isin(clients))
    persons = cohort[usable & (cohort["indeksipvm"] <= C)].copy()
    persons["index_month"] = persons["indeksipvm"].dt.to_period("M").dt.to_timestamp()
    persons["index_m"] = month_number(persons["index_month"])

    # -- the person x month grid: 24 months before the index month to 35 after --------------
    grid = persons[["person_id", "index_m"]].merge(pd.DataFrame({"rel_month": range(-24, 36)}), how="cross")
    grid["m"] = grid["index_m"] + grid["rel_month"]
    grid["month_start"] = pd.to_datetime(
        {"year": grid["m"] // 12, "month": grid["m"] % 12 + 1, "day": 1})
    grid["month_end"] = grid["month_start"] + pd.offsets.MonthEnd(0)

    def months_covered(spells: pd.DataFrame) -> pd.DataFrame:
        """(person_id, rel_month) of every grid month at least one spell covers a day of."""
        spells = spells[spells["alkupvm"] <= C].copy()
        spells["loppupvm"] = spells["loppupvm"].fillna(C).clip(upper=C)
        merged = grid.merge(spells[["person_id", "alkupvm", "loppupvm"]], on="person_id")
        hit = merged[(merged["alkupvm"] <= merged["month_end"]) & (merged["loppupvm"] >= merged["month_start"])]
        return hit[["person_id", "rel_month"]].drop_duplicates()

    employed = months_covered(read_extract(delivery, "employment"))
    benefits = read_extract(delivery, "benefits")
    disability = months_covered(benefits[benefits["etuus"].isin(DISABILITY_BENEFITS)])

    earnings = read_extract(delivery, "earnings")
    earnings = earnings[earnings["person_id"].isin(persons["person_id"])].drop_duplicates()
    earnings["m"] = month_number(pd.to_datetime(earnings["kuukausi"] + "-01"))
    monthly = earnings.groupby(["person_id", "m"], as_index=False)["ansiot_eur"].sum()
    monthly = monthly.merge(persons[["person_id", "index_m"]], on="person_id")
    monthly["rel_month"] = monthly["m"] - monthly["index_m"]

    def count(frame: pd.DataFrame, lo: int, hi: int, name: str) -> pd.Series:
        inside = frame[(frame["rel_month"] >= lo) & (frame["rel_month"] <= hi)]
        return inside.groupby("person_id").size().rename(name)

    out = persons.set_index("person_id")
    out = out.join(count(employed, -12, -1, "employed_months_pre12"))
    out = out.join(count(disability, -12, -1, "benefit_months_pre12"))
    out = out.join(count(employed, -24, -13, "employed_months_pre24_13"))
    out = out.join(count(disability, -24, -13, "benefit_months_pre24_13"))
    out = out.join(inpatient_days(read_extract(delivery, "psychiatric_care"), persons, C))
    counts = ["employed_months_pre12", "benefit_months_pre12", "employed_months_pre24_13",
              "benefit_months_pre24_13", "psych_inpatient_days_pre24_13"]
    out[counts] = out[counts].fillna(0).astype("int64")
    for months in (12, 24, 36):  # the follow-up windows: month 0 to month `months` - 1
        employed_n = count(employed, 0, months - 1, "employed").reindex(out.index, fill_value=0)
        benefit_n = count(disability, 0, months - 1, "benefit").reindex(out.index, fill_value=0)
        post = monthly[(monthly["rel_month"] >= 0) & (monthly["rel_month"] <= months - 1)]
        euros = post.groupby("person_id")["ansiot_eur"].sum().reindex(out.index, fill_value=0.0)
        end = out["index_month"] + pd.DateOffset(months=months) - pd.Timedelta(days=1)
        complete = end <= C
        out[f"employed_months_post{months}"] = employed_n.astype("Int64").where(complete)
        out[f"earnings_post{months}"] = euros.where(complete)
        out[f"benefit_months_post{months}"] = benefit_n.astype("Int64").where(complete)
        out[f"post{months}_complete"] = complete
        if months == 12:
            out["post12_end"] = end
    dg = out["dg"].fillna("").str.upper().str.replace(".", "", regex=False)
    out["smi"] = dg.str.startswith(SMI_PREFIXES)

    out = out.reset_index().rename(columns={"indeksipvm": "index_date", "syntymavuosi": "birth_year",
                                            "sukupuoli": "gender", "koulutus": "education"})
    out["birth_year"] = out["birth_year"].astype(int)
    return out[["person_id", "ips", "employed_months_pre12", "employed_months_post12", "earnings_post12",
                "benefit_months_post12", "employed_months_post24", "earnings_post24", "benefit_months_post24",
                "employed_months_post36", "earnings_post36", "benefit_months_post36", "benefit_months_pre12",
                "employed_months_pre24_13", "benefit_months_pre24_13", "psych_inpatient_days_pre24_13", "index_date", "index_month", "post12_end", "post12_complete",
                "post24_complete", "post36_complete", "alue", "birth_year", "gender", "education",
                "dg", "smi"]].sort_values("person_id", ignore_index=True)
