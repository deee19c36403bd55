"""fmnist.parallel: jobs in spawned processes with their own BLAS thread count."""

import os
import sys

import pytest

from fmnist import parallel
from fmnist.parallel import BLAS_THREAD_VARIABLES, map_processes


def job(x):
    """Runs in a worker: the square, the BLAS variables it saw, the threads NumPy started."""
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # BLAS has started its threads
    tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    return x * x, {k: os.environ.get(k) for k in BLAS_THREAD_VARIABLES}, tasks, os.getpid()


def fail(x):
    if x == 2:
        raise ArithmeticError("job 2 failed")
    return x


@pytest.mark.parametrize("blas_threads", [1, 2])
def test_map_processes_keeps_order_and_sets_blas_threads_per_worker(blas_threads):
    seen = []
    before = {k: os.environ.get(k) for k in BLAS_THREAD_VARIABLES}
    out = map_processes(job, range(5), workers=2, blas_threads=blas_threads,
                        callback=lambda i, r: seen.append(i))
    assert [r[0] for r in out] == [0, 1, 4, 9, 16]
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert all(r[1] == dict.fromkeys(BLAS_THREAD_VARIABLES, str(blas_threads)) for r in out)
    if sys.platform == "linux":  # OpenBLAS started blas_threads - 1 threads besides the main
        assert {r[2] for r in out} == {blas_threads}
    assert len({r[3] for r in out} - {os.getpid()}) >= 1  # other processes did the work
    assert {k: os.environ.get(k) for k in BLAS_THREAD_VARIABLES} == before  # restored


def test_one_worker_runs_here_serially():
    out = map_processes(lambda x: (x, os.getpid()), [3, 1, 2], workers=1)
    assert out == [(3, os.getpid()), (1, os.getpid()), (2, os.getpid())]


def test_default_threads_divide_the_cpus(monkeypatch):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 2)
    out = map_processes(job, [1, 2], workers=2)
    assert out[0][1]["OPENBLAS_NUM_THREADS"] == "1"


def test_a_failing_job_raises_here():
    with pytest.raises(ArithmeticError, match="job 2 failed"):
        map_processes(fail, range(4), workers=2)
    with pytest.raises(ValueError, match="workers"):
        map_processes(fail, range(4), workers=0)
