-- Parsers of the export formats, one per contract type and dialect (docs/exports.md).
-- Each returns NULL when the text is not of its form; the ingest reports such a value
-- as a `type` failure, because the raw text was there but could not be read.
-- 'fi': the project exports (d.m.yyyy, decimal comma, K/E); 'iso': the register extracts.
CREATE OR REPLACE TEMP MACRO fi_date(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}')
         THEN CAST(try_strptime(s, '%d.%m.%Y') AS DATE) END;
CREATE OR REPLACE TEMP MACRO iso_date(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}( 00:00:00)?')
         THEN CAST(try_strptime(left(s, 10), '%Y-%m-%d') AS DATE) END;
CREATE OR REPLACE TEMP MACRO fi_timestamp(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{1,2}:[0-9]{2}')
              THEN try_strptime(s, '%d.%m.%Y %H:%M')
         WHEN regexp_full_match(s, '[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}')
              THEN try_strptime(s, '%d.%m.%Y %H:%M:%S') END;
CREATE OR REPLACE TEMP MACRO iso_timestamp(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?')
         THEN try_cast(replace(s, 'T', ' ') AS TIMESTAMP) END;
-- decimals are exact (DECIMAL, to the cent), so that a sum never depends on the order it is added in
CREATE OR REPLACE TEMP MACRO fi_decimal(s) AS
    CASE WHEN regexp_full_match(s, '-?[0-9]{1,16}(,[0-9]{1,2})?') THEN try_cast(replace(s, ',', '.') AS DECIMAL(18, 2)) END;
CREATE OR REPLACE TEMP MACRO iso_decimal(s) AS
    CASE WHEN regexp_full_match(s, '-?[0-9]{1,16}(\.[0-9]{1,2})?') THEN try_cast(s AS DECIMAL(18, 2)) END;
CREATE OR REPLACE TEMP MACRO fi_integer(s) AS
    CASE WHEN regexp_full_match(s, '-?[0-9]{1,9}') THEN try_cast(s AS INTEGER) END;
CREATE OR REPLACE TEMP MACRO iso_integer(s) AS fi_integer(s);
CREATE OR REPLACE TEMP MACRO fi_yes_no(s) AS CASE s WHEN 'K' THEN TRUE WHEN 'E' THEN FALSE END;
CREATE OR REPLACE TEMP MACRO iso_yes_no(s) AS fi_yes_no(s);
CREATE OR REPLACE TEMP MACRO iso_month(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}') THEN CAST(try_strptime(s || '-01', '%Y-%m-%d') AS DATE) END;
CREATE OR REPLACE TEMP MACRO fi_month(s) AS iso_month(s);

-- SMI (ANALYSIS_PLAN): the primary diagnosis, without its dot, starts with a prefix of ref.smi_prefixes.
CREATE OR REPLACE TEMP MACRO is_smi(code) AS
    coalesce((SELECT bool_or(replace(upper(code), '.', '') LIKE prefix || '%') FROM ref.smi_prefixes), FALSE);


-- Consent withdrawn by the cut-off (ANALYSIS_PLAN "Who is counted": a withdrawal on or before C).
-- Used by the study population and by the purge of withdrawn persons' rows from every table.
CREATE OR REPLACE TEMP MACRO consent_withdrawn_by(withdrawn_on, cutoff) AS
    withdrawn_on IS NOT NULL AND withdrawn_on <= cutoff;


-- Sets of months around a register person's index month (ANALYSIS_PLAN "Register outcomes"):
-- relative month r (0 = the calendar month of the index date I) of the sequence window
-- (-24..36, definitions.SEQUENCE_MONTHS) is bit r - sequence_first() of a BIGINT, and a set of
-- such months is the BIGINT with their bits set. A person's monthly facts are then five
-- integers instead of 61 rows, and "employed months among 0..11" is one popcount
-- (benchmarks/RESULTS.md). The window is read from ref.sequence_months (one row per month with
-- its bit), which the run builds from definitions.SEQUENCE_MONTHS, so it is defined once; it
-- spans at most 62 months, which keeps the sign bit clear (definitions.sequence_months).
CREATE OR REPLACE TEMP MACRO sequence_first() AS (SELECT min(rel_month) FROM ref.sequence_months);
CREATE OR REPLACE TEMP MACRO sequence_last() AS (SELECT max(rel_month) FROM ref.sequence_months);
-- month_set(a, b): the months a..b, cut to the window (0, the empty set, when nothing is left).
CREATE OR REPLACE TEMP MACRO month_set(first_rel, last_rel) AS
    CASE WHEN greatest(first_rel, sequence_first()) <= least(last_rel, sequence_last())
         THEN (CAST(1 AS BIGINT) << CAST(least(last_rel, sequence_last()) - sequence_first() + 1 AS INTEGER))
            - (CAST(1 AS BIGINT) << CAST(greatest(first_rel, sequence_first()) - sequence_first() AS INTEGER))
         ELSE CAST(0 AS BIGINT) END;
-- months_in(months, a, b): how many months of the set `months` fall in a..b.
CREATE OR REPLACE TEMP MACRO months_in(months, first_rel, last_rel) AS
    bit_count(months & month_set(first_rel, last_rel));
