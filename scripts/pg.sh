#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for CI and benchmarks (not for production: see
# docs/deployment.md). It runs the Debian PostgreSQL binaries (package `postgresql`, 15 or newer)
# on a data directory of its own, so it never touches the system cluster.
#
#   bash scripts/pg.sh start     # initdb on first use, start, create role and database `loopdesk`
#   bash scripts/pg.sh url       # postgres://loopdesk@127.0.0.1:54329/loopdesk
#   bash scripts/pg.sh status
#   bash scripts/pg.sh stop      # stop, keep the data
#   bash scripts/pg.sh destroy   # stop and delete the data directory
#
# Environment: LOOPDESK_PG_PORT (54329), LOOPDESK_PG_DIR (/tmp/loopdesk-pg-PORT),
# LOOPDESK_PG_FAST=1 turns off fsync and synchronous commit (tests only: a crash loses data).
#
# Authentication is `trust`, which is safe only because the server listens on 127.0.0.1 and on a
# Unix socket inside its own data directory. The role `loopdesk` may CREATEDB because pytest-django
# creates and drops its test databases.
set -euo pipefail

PORT="${LOOPDESK_PG_PORT:-54329}"
PGDIR="${LOOPDESK_PG_DIR:-${TMPDIR:-/tmp}/loopdesk-pg-${PORT}}"
DATA="${PGDIR}/data"
LOG="${PGDIR}/postgresql.log"
ROLE="loopdesk"
DB="loopdesk"

die() { printf 'pg.sh: %s\n' "$*" >&2; exit 1; }

find_bindir() {
    local dir
    if [ -n "${PG_BINDIR:-}" ]; then
        echo "${PG_BINDIR}"
        return
    fi
    # Debian keeps server binaries off PATH, one directory per major version: take the newest.
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "${dir}" ] && command -v pg_ctl >/dev/null; then
        dir="$(dirname "$(command -v pg_ctl)")"
    fi
    [ -n "${dir}" ] && [ -x "${dir}/pg_ctl" ] || die "PostgreSQL server not found: apt-get install postgresql"
    echo "${dir}"
}

BINDIR="$(find_bindir)"

# PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "user postgres missing: apt-get install postgresql"
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

psql_admin() {
    as_owner "${BINDIR}/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT}" -U postgres -d postgres "$@"
}

is_running() {
    [ -f "${DATA}/PG_VERSION" ] && as_owner "${BINDIR}/pg_ctl" -D "${DATA}" status >/dev/null 2>&1
}

cmd_start() {
    if is_running; then
        echo "PostgreSQL already running on 127.0.0.1:${PORT} (${DATA})"
    else
        mkdir -p "${PGDIR}"
        [ "$(id -u)" = 0 ] && chown postgres: "${PGDIR}"
        chmod 700 "${PGDIR}"
        if [ ! -f "${DATA}/PG_VERSION" ]; then
            as_owner "${BINDIR}/initdb" -D "${DATA}" -U postgres --auth=trust \
                --encoding=UTF8 --locale=C.UTF-8 >"${PGDIR}/initdb.log" 2>&1 \
                || { cat "${PGDIR}/initdb.log" >&2; die "initdb failed"; }
            {
                echo "listen_addresses = '127.0.0.1'"
                echo "port = ${PORT}"
                echo "unix_socket_directories = '${PGDIR}'"
                echo "max_connections = 200"
                echo "shared_buffers = 256MB"
                echo "max_wal_size = 4GB"   # bulk imports and generation checkpoint every few seconds at 1GB
                echo "timezone = 'UTC'"
            } >>"${DATA}/postgresql.conf"
        fi
        local fast=()
        if [ "${LOOPDESK_PG_FAST:-0}" = 1 ]; then
            fast=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
        fi
        as_owner "${BINDIR}/pg_ctl" -D "${DATA}" -l "${LOG}" -w -t 60 -o "${fast[*]:-}" start >/dev/null \
            || { tail -n 30 "${LOG}" >&2 || true; die "PostgreSQL did not start (log: ${LOG})"; }
        echo "PostgreSQL $("${BINDIR}/postgres" --version | awk '{print $3}') started on 127.0.0.1:${PORT} (${DATA})"
    fi
    # Idempotent: the role and its database are created once.
    psql_admin <<SQL
SELECT 'CREATE ROLE ${ROLE} LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}')
\gexec
SELECT 'CREATE DATABASE ${DB} OWNER ${ROLE}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DB}')
\gexec
-- Bulk imports check foreign keys a batch at a time (loopdesk.core.db.references_checked_by_batch).
SELECT 'GRANT SET ON PARAMETER session_replication_role TO ${ROLE}' WHERE current_setting('server_version_num')::int >= 150000
\gexec
SQL
    echo "DATABASE_URL=$(cmd_url)"
}

cmd_stop() {
    if is_running; then
        as_owner "${BINDIR}/pg_ctl" -D "${DATA}" -m fast -w -t 60 stop >/dev/null
        echo "PostgreSQL on port ${PORT} stopped"
    fi
}

cmd_destroy() {
    cmd_stop
    if [ -d "${PGDIR}" ]; then
        rm -rf "${PGDIR}"
        echo "removed ${PGDIR}"
    fi
}

cmd_status() {
    if is_running; then
        echo "running on 127.0.0.1:${PORT} (${DATA}): $(cmd_url)"
    else
        echo "not running (${DATA})"
        return 3
    fi
}

cmd_url() {
    echo "postgres://${ROLE}@127.0.0.1:${PORT}/${DB}"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    destroy) cmd_destroy ;;
    status) cmd_status ;;
    url) cmd_url ;;
    *) die "usage: $0 start|stop|status|url|destroy" ;;
esac
