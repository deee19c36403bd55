"""Data speed on this machine: building the CSVs, the first (parsing) load of train.csv and
the cached load. Goals (issue 2): build < 30 s, first load < 10 s, cached load < 1 s.

    .venv/bin/python benchmarks/bench_load.py [--data-dir DIR] [--repeats N]

Builds into a temporary directory (the real data/ is left alone) unless --data-dir names a
directory that already holds train.csv and test.csv. Needs Debian's dataset-fashion-mnist for
the build. The parsing load is timed on a fresh copy of the cache each repeat, so every
repeat really parses; medians are reported, and the ratio first/cached shows what the cache buys
independently of how busy the machine is.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmnist.data import load_test, load_train  # noqa: E402
from tools.build import build_csvs, default_idx_dir  # noqa: E402

GOALS = {"build": 30.0, "first load of train.csv": 10.0, "cached load of train.csv": 1.0}


def clear_cache(data_dir: Path) -> None:
    shutil.rmtree(data_dir / ".cache", ignore_errors=True)


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="fmnist-bench-") as tmp:
        times: dict[str, list[float]] = {k: [] for k in GOALS}
        if args.data_dir and (args.data_dir / "train.csv").exists():
            source = args.data_dir
            print(f"using existing {source}/train.csv (no build timed)")
        else:
            source = Path(tmp) / "data"
            print(f"building into {source} from {default_idx_dir()} ...", file=sys.stderr)
            t, _ = timed(build_csvs, source)
            times["build"].append(t)
        work = Path(tmp) / "work"
        work.mkdir()
        train = work / "train.csv"
        shutil.copy(source / "train.csv", train)
        for _ in range(args.repeats):
            clear_cache(work)
            t, (X, y) = timed(load_train, train)
            times["first load of train.csv"].append(t)
            t, (X2, _) = timed(load_train, train)
            times["cached load of train.csv"].append(t)
            assert (X2 == X).all()
        t_test, X_test = timed(load_test, source / "test.csv")

    print(f"train.csv {X.shape[0]} x {X.shape[1] + 1}, test.csv {X_test.shape[0]} x "
          f"{X_test.shape[1]} (loading test.csv took {t_test:.2f} s)")
    print(f"{'step':28s} {'median s':>9s} {'goal s':>7s}  all runs")
    ok = True
    for name, goal in GOALS.items():
        if not times[name]:
            continue
        med = statistics.median(times[name])
        ok &= med < goal
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:28s} {med:9.2f} {goal:7.1f}  {runs}{'' if med < goal else '  OVER GOAL'}")
    first = statistics.median(times["first load of train.csv"])
    cached = statistics.median(times["cached load of train.csv"])
    print(f"cache speed-up (first / cached): {first / cached:.0f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
