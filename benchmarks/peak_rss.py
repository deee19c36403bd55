"""Peak resident memory of a command and everything it starts.

    .venv/bin/python benchmarks/peak_rss.py [--limit-gib 4] [--interval 0.2] -- CMD [ARG...]
    .venv/bin/python benchmarks/peak_rss.py -- make report

Runs CMD and reports two peaks:
  - the largest resident set size of any single process among CMD and its descendants
    (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, exact, kept by the kernel);
  - the largest SUM of the resident sizes of CMD's process tree, sampled every --interval
    seconds from /proc (Linux only): what matters when processes run side by side, e.g. a
    process pool's workers. Shared pages (NumPy's libraries) count once per process, so the
    sum errs high; a peak shorter than the interval can be missed.
The goal is checked against the larger of the two. Exits with CMD's exit status, or 3 if CMD
succeeded but the peak exceeds --limit-gib. The last line reads
`bench peak-rss: <x> GiB (goal <= <limit>)`.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def tree_rss_kib(root: int) -> int:
    """Sum of VmRSS (KiB) over `root` and its descendants, from /proc; 0 where unavailable."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(d.name), int(fields.get("PPid", "0"))
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit-gib", type=float, default=4.0,
                   help="goal for the peak (issue 10: a cold `make report` under 4 GiB)")
    p.add_argument("--interval", type=float, default=0.2,
                   help="seconds between samples of the process tree's total")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = p.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        p.error("give a command after --")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak_sum = 0
    sampling = os.path.isdir("/proc/self")
    while proc.poll() is None:
        if sampling:
            peak_sum = max(peak_sum, tree_rss_kib(proc.pid))
        time.sleep(args.interval)
    rc = proc.returncode
    seconds = time.perf_counter() - t0
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":
        kib //= 1024  # bytes there
    gib = max(kib, peak_sum) / 2**20
    print(f"command: {' '.join(cmd)}  (exit status {rc}, {seconds:.1f} s)")
    print(f"peak resident set size of the largest single process: {kib / 1024:.0f} MiB")
    print("peak total of the process tree (sampled every "
          f"{args.interval:g} s): " + (f"{peak_sum / 1024:.0f} MiB" if sampling else "n/a"))
    print(f"bench peak-rss: {gib:.2f} GiB (goal <= {args.limit_gib:g})")
    if rc != 0:
        return rc
    return 3 if gib > args.limit_gib else 0


if __name__ == "__main__":
    sys.exit(main())
