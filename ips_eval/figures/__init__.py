"""The study's figures: the catalogue (one declaration per figure) and the relations derived from it.

`ips_eval.figures.catalogue` reads catalogue.yaml; `ips_eval.figures.relations` holds the
relations between figures (checked on the warehouse, assumed of a website reader);
`ips_eval.figures.reader` what a reader deduces beyond them (structural zeros, the calendar,
closed cohorts across snapshots, the costs' revision sums), assumed by disclosure control;
`ips_eval.figures.doc` writes docs/figures.md. The names below are the ones the rest of the
project imports.
"""

from ips_eval.figures.catalogue import (  # noqa: F401
    FIGURES, LANGUAGES, CatalogueError, Figure, figure, figures, load_catalogue, published_columns, published_counts,
    rates,
)
from ips_eval.figures.relations import (  # noqa: F401
    ALL, AREA, BREAKDOWNS, COSTS_IN_HEADLINE, COSTS_WITHIN, HEADLINE_RATES, HEADLINE_WITHIN, QUARTER_IN_HEADLINE,
    QUARTERLY_RATES, QUARTERLY_WITHIN, SUMS, WAVE, across_columns, wave_counties, within_columns,
)
from ips_eval.figures.within import Within  # noqa: F401
