-- The latest recorded run (provenance fields the caller did not pass).
SELECT run_id, cutoff, code_version, input_fingerprint
FROM audit.runs
ORDER BY finished_at DESC NULLS LAST
LIMIT 1
