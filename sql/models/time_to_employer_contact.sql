-- Model 11 (time_to_employer_contact): one row per study-population client with the first employer
-- contact the coach survey states (core.coaching_clients: the earliest on or after S and on or
-- before C) and the end of the client's follow-up (service end, or C); the model keeps the clients
-- with at least one coach response (without one, nothing is known of their employer contacts).
SELECT person_id, alue, ips_start, followed_to, first_employer_contact, n_coach_responses
FROM core.coaching_clients
ORDER BY person_id
