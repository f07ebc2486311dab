"""Everything that leaves the warehouse for the website.

`disclosure` is the one door every published figure goes through (docs/analysis_plan.md,
"Published figures (website): disclosure control"); `site.scan` is the blocking check on
the built site before it is published.
"""
