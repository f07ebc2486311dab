"""Ingest: a delivery folder, checked for identity codes, read as delivered and validated
against the data contracts into `raw.*`, with every rejected row kept in `audit.rejected_rows`."""
