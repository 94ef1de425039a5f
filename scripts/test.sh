#!/usr/bin/env bash
# Second command on a fresh machine: lint, migration check and the whole test suite.
#
#   bash scripts/test.sh                      # SQLite
#   bash scripts/test.sh -k sla -x            # extra arguments go to pytest
#   DATABASE_URL=postgres://loopdesk@127.0.0.1:54329/loopdesk bash scripts/test.sh
#   PYTEST_WORKERS=4 bash scripts/test.sh     # pytest-xdist processes (default 2)
#
# Exits non-zero on any failure, including a pytest run that collected no test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

ensure_venv
pip_install requirements-dev.txt
ensure_npm_packages

say "Database: ${DATABASE_URL:-SQLite (default)}"

say "ruff check"
"${VENV}/bin/ruff" check .

say "mypy (the service layer; files listed in pyproject.toml)"
"${VENV}/bin/mypy"

say "Checking that migrations match the models"
"${PY}" manage.py makemigrations --check --dry-run

say "pytest"
status=0
"${PY}" -m pytest -n "${PYTEST_WORKERS:-2}" "$@" || status=$?
if [ "${status}" -eq 5 ]; then
    echo "error: pytest collected no test" >&2
    exit 1
fi
exit "${status}"
