"""Dagster definitions of ips-eval: thin assets over `ips_eval` functions."""
