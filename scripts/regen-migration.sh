#!/usr/bin/env bash
# Regenerate the initial migration from store/tables.py (only while nothing has been released).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f src/weir/store/migrations/versions/*.py
tmp=$(mktemp -d)
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from sqlalchemy import create_engine
from weir.store.db import alembic_config
url = f"sqlite:///{sys.argv[1]}/m.db"
cfg = alembic_config(url)
with create_engine(url).connect() as conn:
    cfg.attributes["connection"] = conn
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
rm -rf "$tmp"
