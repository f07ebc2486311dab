-- Merged benefit spells with their benefit group (view over staging.register_spells).
--
-- Grain: one merged spell per person, benefit and period, with the benefit's group
-- (disability / unemployment, from ref.benefit_groups; NULL for other benefits).
CREATE OR REPLACE VIEW staging.benefit_spells AS
SELECT s.person_key, s.person_id, s.kind AS etuus, g.benefit_group, s.start_date, s.end_date
FROM staging.register_spells s
LEFT JOIN ref.benefit_groups g ON g.etuus = s.kind
WHERE s.source = 'benefits'
