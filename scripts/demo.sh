#!/usr/bin/env bash
# First command on a fresh machine: install LoopDesk, load demo data into SQLite and serve it.
#
#   bash scripts/demo.sh            # http://127.0.0.1:8000/
#   PORT=8080 bash scripts/demo.sh
#
# Safe to run again: migrations, reference data and demo data are only added when missing.
# DATABASE_URL (or .env) selects another database, as everywhere else.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

PORT="${PORT:-8000}"
WORKERS="${WEB_CONCURRENCY:-2}"
DEMO_PASSWORD="loopdesk-demo"

ensure_venv
pip_install requirements.txt
ensure_npm_packages

say "Migrating the database"
"${PY}" manage.py migrate --noinput

say "Loading reference data (org tree, categories, routing, SLA, roles)"
if has_command seed_reference; then
    "${PY}" manage.py seed_reference
else
    echo "skipped: manage.py seed_reference is not available in this version"
fi

say "Loading demo data (staff, customers, tickets; only into a database without tickets)"
if has_command load_demo; then
    "${PY}" manage.py load_demo
else
    echo "skipped: manage.py load_demo is not available in this version"
fi
# Demo tickets are bulk-loaded: give the open ones their SLA watches, progress schedules and callbacks, and count them
# into the KPI rollups the dashboards read.
"${PY}" manage.py sync_followup
"${PY}" manage.py rebuild_rollups

say "Collecting static files"
"${PY}" manage.py collectstatic --noinput -v 0

cat <<MSG

==> LoopDesk is starting at http://127.0.0.1:${PORT}/
    Demo logins: see above; password for all demo users: ${DEMO_PASSWORD}
    Customer SMS are written to var/sms/sent.jsonl (the file gateway); worker log: var/celery/worker.log
    Stop with Ctrl-C.

MSG
# Background work (SMS, webhooks, SLA sweeps): one Celery worker with embedded beat. Without CELERY_BROKER_URL
# its broker is a folder under var/celery/ (no Redis); it stops with this script. See docs/operations.md.
mkdir -p "${LOOPDESK_VAR_DIR:-${REPO_ROOT}/var}/celery"
"${VENV}/bin/celery" -A loopdesk worker -B --pool=solo --loglevel=WARNING \
    >>"${LOOPDESK_VAR_DIR:-${REPO_ROOT}/var}/celery/worker.log" 2>&1 &
celery_pid=$!
trap 'kill "${celery_pid}" 2>/dev/null || true; wait "${celery_pid}" 2>/dev/null || true' EXIT
"${VENV}/bin/gunicorn" loopdesk.wsgi -w "${WORKERS}" -b "127.0.0.1:${PORT}" \
    --access-logfile - --no-control-socket
