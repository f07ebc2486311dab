-- Merged employment spells (view over staging.register_spells).
--
-- Grain: one merged employment spell per person and period (merged in staging.register_spells).
CREATE OR REPLACE VIEW staging.employment_spells AS
SELECT person_key, person_id, start_date, end_date FROM staging.register_spells WHERE source = 'employment'
