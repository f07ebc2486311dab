-- What each county's IPS service cost, per year and in all (marts.costs), with the counts of
-- people each per-client figure divides by: tables.py puts those counts through disclosure
-- control to decide which per-client figures may be shown, and does not publish the counts.
-- client_years is left out: cost_per_client_year is the published figure, shown only where the
-- clients behind it (n_in_service) are publishable.
SELECT alue, vuosi, cost_eur, coach_fte, cost_per_client_year,
       cost_per_client, cost_per_employed, cost_per_unsubsidised,
       n_started, n_employed, n_unsubsidised, n_in_service
FROM marts.costs
ORDER BY alue = 'ALL', alue, vuosi = 'ALL', vuosi
