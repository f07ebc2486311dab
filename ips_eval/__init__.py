"""ips-eval: the analytics pipeline of the IPS (Sijoita ja valmenna!) evaluation study."""

from pathlib import Path

import yaml

__version__ = "0.1.0"

#: The repository root, where data_contracts/ and sql/ live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "data_contracts"
SQL_DIR = PROJECT_ROOT / "sql"
#: The models' input queries and the site's queries: SQL that builds no warehouse table.
MODEL_QUERIES_DIR = SQL_DIR / "models"
SITE_QUERIES_DIR = SQL_DIR / "site"

#: The YAML loader of every project file: libyaml's safe loader when it is there (the same
#: documents, read in C rather than in Python), else PyYAML's own.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
