"""Independent jobs (the fits of a sweep) in worker processes, each with its own BLAS threads.

    from fmnist.parallel import map_processes
    results = map_processes(fit_one, configs, workers=2)   # 2 processes, 1 BLAS thread each

On a 2-core machine, two fits side by side with one BLAS thread each keep both cores busy
through the element-wise work too (NumPy's element-wise operations use one thread, only the
matrix products use BLAS's threads), where one process with two BLAS threads leaves a core idle
during that work and pays for the threads' synchronisation on every small product;
`benchmarks/bench_parallel.py` measures the difference on this machine.

BLAS reads its thread count from the environment once, when NumPy is first imported, so the
workers are started with `spawn` (a fresh interpreter, not a copy of this one) with
OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and BLIS_NUM_THREADS set for them. Note
that OpenBLAS's results can differ in the last bits between thread counts, so a sweep run with
one BLAS thread per worker matches a serial run with OPENBLAS_NUM_THREADS=1, bit for bit, not
necessarily a serial run with two threads.

Standard library only: NumPy is never imported here.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _set_blas_threads(threads: int) -> None:
    os.environ.update({k: str(threads) for k in BLAS_THREAD_VARIABLES})


@contextlib.contextmanager
def process_pool(workers: int, blas_threads: int | None = None
                 ) -> Iterator[cf.ProcessPoolExecutor]:
    """A `ProcessPoolExecutor` of `workers` spawned processes with `blas_threads` BLAS threads
    each (default: the available CPUs divided among the workers, at least 1).

    The variables are in this process's environment while the pool is open (spawned workers
    inherit them when they start, before anything imports NumPy) and are restored after it.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    threads = blas_threads or max(1, available_cpus() // workers)
    with _environment({k: str(threads) for k in BLAS_THREAD_VARIABLES}):
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_set_blas_threads, initargs=(threads,)) as pool:
            yield pool


def map_processes(fn: Callable, items: Iterable, workers: int | None = None,
                  blas_threads: int | None = None,
                  callback: Callable[[int, object], None] | None = None) -> list:
    """[fn(x) for x in items], run in `workers` processes (default: the available CPUs), each
    with `blas_threads` BLAS threads (default: CPUs // workers, at least 1); results in the
    order of `items`. `callback(i, result)` is called in this process as each job finishes.

    workers=1 runs the jobs here, one after another, with this process's BLAS as it is (no
    pickling, no new process). Otherwise `fn`, the items and the results must be picklable (a
    module-level function, plain data). The first job to raise re-raises its exception here
    after the jobs already running have finished; the jobs not yet started are cancelled.
    """
    items = list(items)
    workers = available_cpus() if workers is None else workers
    if workers == 1:
        results = []
        for i, x in enumerate(items):
            results.append(fn(x))
            if callback is not None:
                callback(i, results[-1])
        return results
    results: list = [None] * len(items)
    with process_pool(min(workers, max(1, len(items))), blas_threads) as pool:
        futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
        try:
            for fut in cf.as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if callback is not None:
                    callback(i, results[i])
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return results
