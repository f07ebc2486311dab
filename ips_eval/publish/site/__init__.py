"""The public website: tables through disclosure control, charts, pages in three languages, the scan."""
