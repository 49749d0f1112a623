#!/usr/bin/env bash
# Install what the tests need (the package with its dev extra, Debian's headless
# chromium for the HTML report checks and PostgreSQL for the database tests), then check
# style (ruff), the layers (import-linter) and the types (mypy), and run the whole test
# suite (pytest). The quick lane while working: bash scripts/test.sh -m "not slow".
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    echo "note: chromium is not installed (sudo apt-get install chromium); browser checks will fail" >&2
  fi
fi
# PostgreSQL's server programs, for tests/test_sql.py (it starts a server of its own with
# initdb + pg_ctl; Debian keeps them in /usr/lib/postgresql/*/bin, off the PATH).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
  else
    echo "note: PostgreSQL is not installed (sudo apt-get install postgresql); tests/test_sql.py will skip" >&2
  fi
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]"
python3 -m ruff check .
# The layers of docs/architecture.md (contracts in pyproject.toml).
"$(dirname "$(python3 -c 'import sys; print(sys.executable)')")/lint-imports"
python3 -m mypy
exec python3 -m pytest -n 2 --durations=15 "$@"
