-- Each county's current IPS-25 fidelity (rule 7: a service's score, published as it is).
-- n_reviews is left out: it is not about people, but the site scan reads n_* as counts.
SELECT alue, arviointipvm, total, category
FROM marts.fidelity_current
ORDER BY alue
