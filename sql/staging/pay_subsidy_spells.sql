-- Merged pay-subsidy spells (view over staging.register_spells).
--
-- Grain: one merged pay-subsidy spell per person and period (merged in staging.register_spells).
CREATE OR REPLACE VIEW staging.pay_subsidy_spells AS
SELECT person_key, person_id, start_date, end_date FROM staging.register_spells WHERE source = 'pay_subsidy'
