"""Training speed as a ratio against this machine's own matrix-multiply speed.

    .venv/bin/python benchmarks/bench_train.py [--config plain|final] [--repeats 5]
                                               [--hidden 1024] [--batch-size 128]
                                               [--blas-threads N]

One run measures, repeated (median of the repeats), (a) and (b) alternating every 50
batches so that both see the same load on a shared machine, and does so with BLAS limited to
each of two thread counts in turn (threadpoolctl), alternating too:
  - the goal's: the BLAS threads each training process of `make report` has (the sweeps run
    FMNIST_WORKERS processes, 2 on a 2-core machine, with CPUs / workers BLAS threads each:
    1), so the ratio is the one the report's training time is made of; --blas-threads sets it;
  - all the CPUs in one process, as `python -m fmnist train` or FMNIST_WORKERS=0 trains,
    printed beside it (NumPy's element-wise work runs on one thread while the products use
    all, so there the same overhead weighs more).
The two parts of a run:
  (a) the matmul-bound time: exactly the float32 matrix products of one training epoch of a
      784-d-10 network (per batch: X W1, h W2, h^T dz, dz W2^T, X^T da; same shapes, into
      preallocated outputs), nothing else; it gives NumPy's throughput on this machine;
  (b) one real epoch of `fmnist.MLP` (50,400 examples) run by the library's own `train_epoch`
      (shuffle, gather, augmentation, dropout mask, forward, backward, update), configured as
      --config says:
        plain  ReLU, plain mini-batch GD, no penalty (benchmark `mlp-epoch-plain`);
        final  the report's final network's training recipe, read from
               `fmnist.plans.FULL_PLAN.nn_final_base` so that it cannot drift from what the
               report trains: ReLU, dropout, momentum, the plan's augmentation and L2
               (benchmark `mlp-epoch-final`); its width is --hidden, as for plain;
  (c) one epoch of `fmnist.LogisticRegression` with the same batch size.
It prints epoch time / matmul-bound time: 1.0 would mean everything besides the products is
free. Budgets (issue 18, on the plain code): plain <= 1.35, final <= 1.55, in the goal's
thread count. The last
line reads
`bench <name>: ratio <x> (goal <= <y>)`. FMNIST_QUICK=1 runs a small version (12,800 examples,
2 repeats) to check that the script works.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmnist.models import MLP, LogisticRegression  # noqa: E402
from fmnist.plans import FULL_PLAN  # noqa: E402
from fmnist.runner import workers  # noqa: E402
from fmnist.training import train_epoch  # noqa: E402

N_FEATURES, N_CLASSES = 784, 10

# What one epoch's updates depend on (the schedule, epochs, patience, width and batch size do
# not enter `train_epoch`'s cost, or are set by the options).
_EPOCH_KEYS = ("activation", "dropout", "lr", "l2", "l1", "momentum", "nesterov", "augment")
_FINAL = {k: v for k, v in FULL_PLAN.nn_final_base.items() if k in _EPOCH_KEYS}

# name -> (benchmark name, MLP hyper-parameters besides hidden/batch_size, goal for the ratio)
CONFIGS = {
    "plain": ("mlp-epoch-plain", dict(activation="relu", lr=0.01, l2=0.0), 1.35),
    "final": ("mlp-epoch-final", _FINAL, 1.55),
}


def matmul_products(d: int, bs: int, rng: np.random.Generator):
    """A callable doing the matrix products of training on n rows (784-d-10 net, batch bs)."""
    f32 = np.float32
    X = rng.standard_normal((bs, N_FEATURES), dtype=f32)
    W1 = rng.standard_normal((N_FEATURES, d), dtype=f32)
    W2 = rng.standard_normal((d, N_CLASSES), dtype=f32)
    a, dh = np.empty((bs, d), f32), np.empty((bs, d), f32)
    z = np.empty((bs, N_CLASSES), f32)
    gW1, gW2 = np.empty_like(W1), np.empty_like(W2)

    def run(n: int):
        for s in range(0, n, bs):
            m = min(bs, n - s)
            Xm, am, zm, dhm = X[:m], a[:m], z[:m], dh[:m]
            np.matmul(Xm, W1, out=am)
            np.matmul(am, W2, out=zm)
            np.matmul(am.T, zm, out=gW2)
            np.matmul(zm, W2.T, out=dhm)
            np.matmul(Xm.T, dhm, out=gW1)

    return run


def matmul_flops(n: int, d: int) -> int:
    return 2 * n * (2 * N_FEATURES * d + 3 * d * N_CLASSES)


def model_epoch(model, seed=0):
    """A callable running real training passes of `model` over given rows."""
    rng = np.random.default_rng(seed)
    model.init_params(rng)
    velocity = ({k: np.zeros_like(W) for k, W in model.params.items()}
                if model.momentum > 0 else None)

    def run(Xs, y):
        train_epoch(model, Xs, y, rng, model.lr, 1, velocity, background=-0.8)

    return run


def interleaved_epoch(segments, ref, mlp) -> tuple[float, float]:
    """Times of one epoch of products and one of MLP training, run segment by segment in
    alternation so that both see the same machine load (it swings on a shared host);
    `segments` [(X rows, y rows)]."""
    t_ref = t_mlp = 0.0
    for X_seg, y_seg in segments:
        t0 = time.perf_counter()
        ref(len(y_seg))
        t1 = time.perf_counter()
        mlp(X_seg, y_seg)
        t2 = time.perf_counter()
        t_ref += t1 - t0
        t_mlp += t2 - t1
    return t_ref, t_mlp


def main(argv=None) -> int:
    quick = os.environ.get("FMNIST_QUICK") == "1"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", choices=tuple(CONFIGS), default="plain",
                   help="the MLP's training configuration (see the module docstring)")
    p.add_argument("--repeats", type=int, default=2 if quick else 5)
    p.add_argument("--n", type=int, default=12_800 if quick else 50_400, help="examples")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--blas-threads", type=int, default=None,
                   help="BLAS threads of the goal's measurement (default: those of each of "
                        "make report's training processes)")
    args = p.parse_args(argv)
    cpus = len(os.sched_getaffinity(0))
    goal_threads = args.blas_threads or max(1, cpus // max(1, workers()))
    regimes = list(dict.fromkeys((goal_threads, cpus)))  # the goal's first

    rng = np.random.default_rng(0)
    n, d, bs = args.n, args.hidden, args.batch_size
    Xs = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, n)
    step = bs * 50  # segments of 50 batches: the epoch's batches, cut where a batch ends
    name, hyper, goal = CONFIGS[args.config]
    segments = [(Xs[lo:lo + step], y[lo:lo + step]) for lo in range(0, n, step)]
    ref = matmul_products(d, bs, rng)
    mlp = model_epoch(MLP(hidden=d, batch_size=bs, **hyper))
    lr_run = model_epoch(LogisticRegression(batch_size=bs, lr=0.01, l2=0.0))
    flops = matmul_flops(n, d)

    t_ref = {t: [] for t in regimes}
    t_mlp = {t: [] for t in regimes}
    t_lr = []
    for threads in regimes:  # warm-up: BLAS threads, page faults
        with threadpool_limits(threads, user_api="blas"):
            interleaved_epoch(segments[:1], ref, mlp)
    for _ in range(args.repeats):
        for threads in regimes:
            with threadpool_limits(threads, user_api="blas"):
                r, m = interleaved_epoch(segments, ref, mlp)
            t_ref[threads].append(r)
            t_mlp[threads].append(m)
        with threadpool_limits(goal_threads, user_api="blas"):
            t0 = time.perf_counter()
            lr_run(Xs, y)
            t_lr.append(time.perf_counter() - t0)
    med = statistics.median
    ratios = {t: [m / r for m, r in zip(t_mlp[t], t_ref[t], strict=True)] for t in regimes}

    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                                      "OMP_NUM_THREADS") if k in os.environ}
    print(f"machine: {os.cpu_count()} CPUs, NumPy {np.__version__}"
          + (f", {env}" if env else "") + (" [QUICK MODE]" if quick else ""))
    print(f"network 784-{d}-10, {args.config}: {hyper}, batch {bs}, {n} examples, "
          f"{args.repeats} repeats (median)")
    for threads in regimes:
        role = ("the goal's: as each of make report's training processes" if threads ==
                goal_threads else "one process using every CPU, as `fmnist train`")
        print(f"{threads} BLAS thread{'s' if threads > 1 else ''} ({role}):")
        print(f"  (a) matmul-bound epoch : {med(t_ref[threads]):7.3f} s   {flops / 1e9:.1f} "
              f"GFLOP -> {flops / med(t_ref[threads]) / 1e9:.1f} GFLOP/s float32")
        print(f"  (b) MLP epoch          : {med(t_mlp[threads]):7.3f} s")
        print(f"      ratio (b)/(a)      : {med(ratios[threads]):7.3f}   median of the "
              f"per-repeat ratios {', '.join(f'{r:.2f}' for r in ratios[threads])}")
    print(f"(c) LogisticRegression epoch: {med(t_lr):7.3f} s   (batch {bs}, {goal_threads} BLAS "
          f"thread{'s' if goal_threads > 1 else ''}; its 784x10 products are memory-bound, so "
          f"no ratio)")
    print(f"bench {name}: ratio {med(ratios[goal_threads]):.2f} (goal <= {goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
