"""Sweep throughput: one process with 2 BLAS threads vs 2 processes with 1 BLAS thread each.

    .venv/bin/python benchmarks/bench_parallel.py [--repeats 3] [--n 20000] [--workers 2]

A sweep (`fmnist.experiments`) is many independent fits. This measures, for a sweep-like
workload of 4 short MLP fits (batch 128, `--n` examples of learnable fake images), once with
hidden 128 (3 epochs each) and once with hidden 1024 (1 epoch each):
  (A) the 4 fits one after another in one fresh process with 2 BLAS threads (today's way);
  (B) the same 4 fits through `fmnist.runner.process_pool` with 2 worker processes and
      1 BLAS thread each.
A and B alternate, repeat after repeat, so both see the same load on a shared machine; both
include starting their processes (spawn, importing NumPy), as a sweep would. It prints the
speed-up time(A) / time(B), the median of the per-repeat ratios (> 1: the pool is faster), per
workload and for both together, whether the workers really ran with the BLAS threads asked
for (threads counted in /proc/self/task), whether B's weights equal A's bit for bit (OpenBLAS
may sum in another order with another thread count), and a recommendation. The last line reads
`bench parallel-sweep: ratio <speed-up> (goal >= 1.0)`. FMNIST_QUICK=1 runs a small version.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmnist.runner import process_pool  # noqa: E402

_DATA: dict = {}


def fake_images(n: int, seed: int = 0):
    """Learnable fake images, uint8 (n, 784), labels (n,): a prototype per class plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, (10, 784))
    y = rng.integers(0, 10, n)
    X = np.clip(protos[y] + rng.normal(0, 80, (n, 784)), 0, 255).astype(np.uint8)
    return X, y


def fit_one(job: tuple) -> dict:
    """One fit of a sweep (runs in a worker): the MLP's weights' hash and the worker's threads."""
    import numpy as np

    from fmnist.models import MLP

    hidden, epochs, n, seed = job
    if n not in _DATA:  # each process makes the data once, as a sweep loads it once
        _DATA[n] = fake_images(n)
    X, y = _DATA[n]
    model = MLP(hidden=hidden, epochs=epochs, batch_size=128, lr=0.05, l2=1e-4,
                random_state=seed).fit(X, y)
    digest = hashlib.sha1(b"".join(np.ascontiguousarray(W).tobytes()
                                   for W in model.params.values())).hexdigest()
    # threads but the one that watches the parent process (`fmnist.runner.process_pool`)
    tasks = len(os.listdir("/proc/self/task")) - 1 if os.path.isdir("/proc/self/task") else None
    return {"hash": digest, "threads": tasks, "pid": os.getpid()}


def run(jobs: list, workers: int, blas_threads: int) -> tuple[float, list]:
    """Wall-clock time of the jobs on a fresh pool (process start-up included), results."""
    t0 = time.perf_counter()
    with process_pool(workers, blas_threads) as pool:
        results = list(pool.map(fit_one, jobs))
    return time.perf_counter() - t0, results


def main(argv=None) -> int:
    quick = os.environ.get("FMNIST_QUICK") == "1"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--repeats", type=int, default=2 if quick else 3)
    p.add_argument("--n", type=int, default=3000 if quick else 20_000, help="examples per fit")
    p.add_argument("--workers", type=int, default=2, help="processes of (B)")
    args = p.parse_args(argv)

    workloads = {"hidden 128": [(128, 1 if quick else 3, args.n, s) for s in range(4)],
                 "hidden 1024": [(1024, 1, args.n, s) for s in range(4)]}
    a_threads, b_threads = args.workers, 1
    times = {w: ([], []) for w in workloads}
    checks = {w: [] for w in workloads}
    for _ in range(args.repeats):
        for w, jobs in workloads.items():
            ta, ra = run(jobs, 1, a_threads)
            tb, rb = run(jobs, args.workers, b_threads)
            times[w][0].append(ta)
            times[w][1].append(tb)
            checks[w].append((ra, rb))

    med = statistics.median
    print(f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} available), "
          f"load average {os.getloadavg()[0]:.1f}" + (" [QUICK MODE]" if quick else ""))
    print(f"4 fits per workload, batch 128, {args.n} examples; (A) 1 process x {a_threads} BLAS "
          f"threads, (B) {args.workers} processes x {b_threads} BLAS thread; "
          f"{args.repeats} repeats (median)")
    for w in workloads:
        ta, tb = times[w]
        ratios = [a / b for a, b in zip(ta, tb, strict=True)]
        ra, rb = checks[w][-1]
        same = all(x["hash"] == y["hash"] for x, y in zip(ra, rb, strict=True))
        print(f"{w:12s}: (A) {med(ta):6.2f} s  (B) {med(tb):6.2f} s  speed-up A/B "
              f"{med(ratios):.2f} (per repeat {', '.join(f'{r:.2f}' for r in ratios)})")
        print(f"{'':12s}  threads seen: (A) {sorted({x['threads'] for x in ra}, key=str)}, "
              f"(B) {sorted({x['threads'] for x in rb}, key=str)} in "
              f"{len({x['pid'] for x in rb})} processes; weights A == B bit for bit: "
              f"{'yes' if same else 'no'}")
    total = [sum(times[w][0][i] for w in workloads) / sum(times[w][1][i] for w in workloads)
             for i in range(args.repeats)]
    speedup = med(total)
    advice = (f"run sweeps with process_pool({args.workers}, blas_threads=1)"
              if speedup >= 1.05 else
              "keep sweeps in one process (the pool gains less than 5 %)")
    print(f"both workloads: speed-up {speedup:.2f} -> recommendation: {advice}")
    print(f"bench parallel-sweep: ratio {speedup:.2f} (goal >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
