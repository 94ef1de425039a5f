"""Sample the memory of a process tree while a benchmark runs (run by hand; not a test).

    python bench/pss.py --pid 1234 [--every 10] > pss.log

Every `--every` seconds it prints one line: time, and the summed PSS and RSS (MB) of the process and all its
descendants (from /proc/<pid>/smaps_rollup), followed by each process's PSS. PSS counts a page shared by
n processes as 1/n to each, so the sum is the memory the tree really holds (RSS counts shared pages twice).
It stops when the process ends and prints the peak of the sum.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    out = [pid]
    for child in found[1:]:
        out += children(child)
    return out


def rollup(pid: int) -> tuple[float, float]:
    pss = rss = 0.0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
            elif line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return pss, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--every", type=float, default=10.0)
    args = parser.parse_args()
    peak = 0.0
    while Path(f"/proc/{args.pid}").exists():
        procs = {p: rollup(p) for p in children(args.pid)}
        total_pss = sum(v[0] for v in procs.values())
        total_rss = sum(v[1] for v in procs.values())
        peak = max(peak, total_pss)
        each = " ".join(f"{p}:{v[0]:.0f}" for p, v in procs.items())
        print(f"{time.strftime('%H:%M:%S')} pss={total_pss:.0f} rss={total_rss:.0f} {each}", flush=True)
        time.sleep(args.every)
    print(f"peak PSS of the tree: {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
