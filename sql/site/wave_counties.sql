-- Clients of each county in each wave (public: which county started in which wave), for the
-- relation "a wave is the sum of its counties" that disclosure control assumes a reader uses.
SELECT alue, group_value AS wave, n_clients
FROM marts.employment_outcomes_by_group
WHERE grouping = 'wave' AND alue <> 'ALL'
ORDER BY alue, group_value
