-- The website's headline transitions (ANALYSIS_PLAN "Transitions in services and benefits"):
-- one row per transition of ref.headline_transitions (from a benefit state into work, from
-- work back to a benefit state), in the 12 months from the index month (period post12), for
-- IPS clients and the weighted comparison group side by side.
-- rate_<group>: weighted person-months of the from kind followed by a month of the to kind,
-- over the weighted person-months of the from kind (marts.transition_rates: n_from * rate is
-- a pair's weighted person-months; each from_state's n_from is read once, from its row to
-- itself). persons_moved_<group> / persons_from_<group>: the most persons behind any one
-- state pair / from state of the transition: a lower bound of the distinct persons behind
-- the rate (a person may be behind several pairs), so that a rate passed at T has at least T
-- persons behind it. Every transition has its row: a group without data gives NULL and 0.
WITH by_group AS (
    SELECT h.transition, t."group",
           sum(t.n_from * t.rate) FILTER (WHERE k.kind = h.to_kind) AS moved,
           sum(t.n_from) FILTER (WHERE t.to_state = t.from_state) AS from_months,
           max(t.n_persons_moved) FILTER (WHERE k.kind = h.to_kind) AS persons_moved,
           max(t.n_persons_from) AS persons_from
    FROM marts.transition_rates AS t
    JOIN ref.states AS f ON f.state = t.from_state
    JOIN ref.states AS k ON k.state = t.to_state
    JOIN ref.headline_transitions AS h ON h.from_kind = f.kind
    WHERE t.period = 'post12'
    GROUP BY ALL
)
SELECT h.transition,
       max(b.moved / b.from_months) FILTER (WHERE b."group" = 'ips') AS rate_ips,
       coalesce(max(b.persons_moved) FILTER (WHERE b."group" = 'ips'), 0) AS persons_moved_ips,
       coalesce(max(b.persons_from) FILTER (WHERE b."group" = 'ips'), 0) AS persons_from_ips,
       max(b.moved / b.from_months) FILTER (WHERE b."group" = 'comparison_weighted') AS rate_comparison_weighted,
       coalesce(max(b.persons_moved) FILTER (WHERE b."group" = 'comparison_weighted'), 0) AS persons_moved_comparison,
       coalesce(max(b.persons_from) FILTER (WHERE b."group" = 'comparison_weighted'), 0) AS persons_from_comparison
FROM ref.headline_transitions AS h
LEFT JOIN by_group AS b USING (transition)
GROUP BY h.transition
ORDER BY h.transition
