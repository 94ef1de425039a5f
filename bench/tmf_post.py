"""Benchmark of `POST /tmf-api/troubleTicket/v4/troubleTicket` on PostgreSQL behind gunicorn (not a test).

    python bench/tmf_post.py                       # defaults: 50 connections, 20 s per run, 4 workers
    python bench/tmf_post.py --connections 50 --seconds 30 --workers 4 --customers 5000

What it does, in one run:
1. starts a private PostgreSQL on 127.0.0.1:54341 (scripts/pg.sh, its own data directory; stopped at the end
   unless it was already running), creates a fresh database `tmf_bench`, migrates it, seeds the reference data
   (Jiangmen org tree, categories, SLA, routing), creates the CRM service user (hotline agent in 话务室), its API
   token and `--customers` customers;
2. starts gunicorn (sync workers) on 127.0.0.1 with the real settings plus one trivial view (bench/tmf_urls.py);
3. drives both with `wrk` (apt package `wrk`) on loopback, same connections and duration, warm-up first:
   the trivial view (the baseline), then POST /troubleTicket with a different body per request (customers
   drawn from the pool, so repeat-complaint detection and customer lookup do their real work);
4. counts: the tickets created during the measured POST run (count in the database just before it and after
   gunicorn stopped, so the warm-up's tickets are left out) against the 201s wrk received. None may be lost
   (fewer tickets than 201s); more tickets than 201s are requests still in flight when wrk stopped listening
   (or that it timed out), at most one per connection plus the timeouts; anything else is a MISMATCH.

The load average is read once before anything starts (`load_average_before`) and once after the runs
(`load_average_after`).

Prints requests/s, p50/p99 latency for both, the ratio, the count check, and a Markdown row for
docs/benchmarks.md. Needs: `apt-get install wrk postgresql`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PG_PORT = os.environ.get("BENCH_TMF_PG_PORT", "54341")
DB_NAME = "tmf_bench"
CATEGORY = "BASIC.COVERAGE.INDOOR"

LUA = r"""
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end
function init(args)
  created = 0
  other = 0
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer __TOKEN__"
end
function request()
  counter = counter + 1
  local n = (tid * 7919 + counter * 104729) % __CUSTOMERS__
  local body = string.format('{"description":"压测工单 %d-%d 室内无信号","severity":"Minor","ticketType":"complaint",'
    .. '"channel":{"id":"api"},"relatedParty":[{"id":"139%08d","role":"customer"}],'
    .. '"relatedEntity":[{"id":"__CATEGORY__","role":"category"}]}', tid, counter, n)
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format("BENCH created=%d other=%d\n", c, o))
end
"""

SETUP = r"""
from django.contrib.auth.models import Group
from loopdesk.core.reference import seed_reference
from loopdesk.customers.models import Customer
from loopdesk.org.models import OrgUnit, User
from loopdesk.tmf.models import ApiToken
seed_reference()
user = User.objects.create_user(username="crm-service", unit=OrgUnit.objects.get(code="JM-CALL"))
user.groups.add(Group.objects.get(name="hotline_agent"))
token = ApiToken(name="CRM bench", system="CRM", user=user, can_write=True, rate_per_minute=10**9)
raw = token.set_new_key()
token.save()
Customer.objects.bulk_create(
    [Customer(msisdn="139%08d" % i, province="GD", region="JM") for i in range(__CUSTOMERS__)], batch_size=2000)
print("TOKEN=" + raw)
"""


def run(cmd: list[str], env: dict[str, str], **kwargs: object) -> str:
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=ROOT, **kwargs).stdout


def fresh_database(env: dict[str, str]) -> tuple[str, bool]:
    """The benchmark database's URL, and whether this run started the server (then it stops it at the end)."""
    pg_env = {**env, "LOOPDESK_PG_PORT": PG_PORT}
    status = subprocess.run(["bash", "scripts/pg.sh", "status"], env=pg_env, cwd=ROOT, capture_output=True)
    run(["bash", "scripts/pg.sh", "start"], pg_env)
    base = run(["bash", "scripts/pg.sh", "url"], pg_env).strip()
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return base.rsplit("/", 1)[0] + "/" + DB_NAME, status.returncode != 0


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url: str, connections: int, seconds: int, script: str | None = None) -> dict[str, float | int | str]:
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    result: dict[str, float | int | str] = {"raw": out}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    for pct in ("50", "99"):
        result[f"p{pct}_ms"] = to_ms(re.search(rf"\s{pct}%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else "none"
    timeouts = re.search(r"timeout (\d+)", result["socket_errors"])  # type: ignore[arg-type]
    result["timeouts"] = int(timeouts.group(1)) if timeouts else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    created = re.search(r"BENCH created=(\d+) other=(\d+)", out)
    if created:
        result["created"], result["other"] = int(created.group(1)), int(created.group(2))
    return result


def ticket_count(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return int(conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0])  # type: ignore[index]


def wait_up(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8641)
    args = parser.parse_args()
    load_before = os.getloadavg()

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.tmf_settings", "PYTHONPATH": str(ROOT),
           "LOOPDESK_DEBUG": "", "DB_CONN_MAX_AGE": "600", "LOOPDESK_LOG_LEVEL": "ERROR"}
    env["DATABASE_URL"], started_pg = fresh_database(env)
    try:
        code = measure(args, env, load_before)
    finally:
        if started_pg:  # leave no server running that this run started
            run(["bash", "scripts/pg.sh", "stop"], {**env, "LOOPDESK_PG_PORT": PG_PORT})
    sys.exit(code)


def measure(args: argparse.Namespace, env: dict[str, str], load_before: tuple[float, float, float]) -> int:
    """Set up, run the trivial view and POST under wrk, check the count; 0 if nothing was lost."""
    run([PY, "manage.py", "migrate", "-v0"], env)
    out = run([PY, "manage.py", "shell", "-c", SETUP.replace("__CUSTOMERS__", str(args.customers))], env)
    token = re.search(r"TOKEN=(\S+)", out).group(1)  # type: ignore[union-attr]

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA.replace("__TOKEN__", token).replace("__CUSTOMERS__", str(args.customers))
                  .replace("__CATEGORY__", CATEGORY))
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "loopdesk.wsgi", "-w", str(args.workers), "-b",
         f"127.0.0.1:{args.port}", "--backlog", "2048", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        wait_up(f"{base}/bench/trivial")
        post_url = f"{base}/tmf-api/troubleTicket/v4/troubleTicket"
        wrk(f"{base}/bench/trivial", args.connections, 3)  # warm-up: imports, connections
        wrk(post_url, args.connections, 3, lua.name)
        trivial = wrk(f"{base}/bench/trivial", args.connections, args.seconds)
        before_post = ticket_count(env["DATABASE_URL"])  # after the warm-up's tickets
        post = wrk(post_url, args.connections, args.seconds, lua.name)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(trivial["raw"], post["raw"], sep="\n", flush=True)
    # After gunicorn stopped: a request wrk gave up on (timeout) may still have committed until then.
    created = ticket_count(env["DATABASE_URL"]) - before_post
    acknowledged = int(post.get("created", 0))
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "connections": args.connections, "seconds": args.seconds, "workers": args.workers,
        "customers": args.customers,
        "trivial_rps": trivial["rps"], "trivial_p50_ms": trivial["p50_ms"], "trivial_p99_ms": trivial["p99_ms"],
        "post_rps": post["rps"], "post_p50_ms": post["p50_ms"], "post_p99_ms": post["p99_ms"],
        "post_created_201": acknowledged, "post_other_status": post.get("other"),
        "post_socket_errors": post["socket_errors"], "tickets_created_in_measured_run": created,
        "created_without_201": created - acknowledged,
        "ratio": round(float(post["rps"]) / max(float(trivial["rps"]), 0.001), 3),
    }
    print(json.dumps(report, indent=2))
    in_flight = args.connections + int(post["timeouts"])
    ok_count = 0 <= created - acknowledged <= in_flight and post.get("other") == 0
    print(f"| {time.strftime('%Y-%m-%d')} | {args.connections} | {args.workers} | {trivial['rps']:.0f} | "
          f"{trivial['p99_ms']:.1f} | {post['rps']:.0f} | {post['p50_ms']:.1f} | {post['p99_ms']:.1f} | "
          f"{report['ratio']:.0%} | {acknowledged} acknowledged, {created} created "
          f"({'OK' if ok_count else 'MISMATCH'}) |")
    return 0 if ok_count else 1


if __name__ == "__main__":
    main()
