"""Worker processes (`fmnist.runner.process_pool`) and stopping: each worker has its own
BLAS thread count; Ctrl-C and SIGTERM stop a real sweep within seconds with one line and a
non-zero status, no worker outlives it and the cache holds only complete entries; a worker
whose parent is killed outright ends too; a bad FMNIST_WORKERS is one line."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fmnist import runner as R
from tests.synth import write_data_dir

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

# `python -m fmnist experiments --quick` with the logistic regression's runs made long enough
# (2000 epochs, about a second each) that a signal lands while workers train
SWEEP = """
import sys
from dataclasses import replace
from fmnist import __main__ as cli, plans
base = {**plans.QUICK_PLAN.logreg_base, "epochs": 2000, "patience": None}
plans.QUICK_PLAN = replace(plans.QUICK_PLAN, logreg_base=base)
sys.exit(cli.main(["experiments", "--quick", "--data-dir", sys.argv[1], "--cache", sys.argv[2],
                   "--out", sys.argv[3]]))
"""


def job(x):
    """Runs in a worker: the BLAS variables it saw and the threads NumPy started."""
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # BLAS has started its threads
    return {k: os.environ.get(k) for k in R.BLAS_THREAD_VARIABLES}, len(
        os.listdir("/proc/self/task")), os.getpid()


@pytest.mark.parametrize("blas_threads", [1, 2])
def test_each_worker_has_the_blas_threads_asked_for(blas_threads):
    before = {k: os.environ.get(k) for k in R.BLAS_THREAD_VARIABLES}
    with R.process_pool(2, blas_threads) as pool:
        out = list(pool.map(job, range(4)))
    assert all(r[0] == dict.fromkeys(R.BLAS_THREAD_VARIABLES, str(blas_threads)) for r in out)
    # the main thread, OpenBLAS's blas_threads - 1 and the one that watches the parent
    assert {r[1] for r in out} == {blas_threads + 1}
    assert os.getpid() not in {r[2] for r in out}
    assert {k: os.environ.get(k) for k in R.BLAS_THREAD_VARIABLES} == before  # restored


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def alive(pid: int) -> bool:
    """Whether `pid` runs (not gone, not a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pids, seconds=5.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("how, workers", [("ctrl-c", "2"), ("sigterm", "2"), ("sigterm", "0")])
def test_a_signal_stops_a_sweep_cleanly(tmp_path, how, workers):
    write_data_dir(tmp_path / "data", n_train=300, n_test=20)
    cache = tmp_path / "cache"
    env = {**os.environ, "FMNIST_WORKERS": workers, "FMNIST_QUICK": "1", "PYTHONPATH": str(ROOT),
           **dict.fromkeys(R.BLAS_THREAD_VARIABLES, "1")}  # as fast in-process as in workers
    proc = subprocess.Popen([sys.executable, "-c", SWEEP, str(tmp_path / "data"), str(cache),
                             str(tmp_path / "out")], cwd=ROOT, env=env, text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            start_new_session=True)  # its own group, as a terminal's job
    err, first_run = [], threading.Event()

    def read():  # not in this thread: orphaned workers could hold the pipe open forever
        for line in proc.stderr:
            err.append(line)
            if line.startswith("[logreg sweeps 1/"):
                first_run.set()

    threading.Thread(target=read, daemon=True).start()
    assert first_run.wait(120), "no run finished:\n" + "".join(err)
    kids = children(proc.pid)
    if workers != "0":
        assert len(kids) >= 2, kids  # the workers (and multiprocessing's resource tracker)
    n_before = len(err)
    if how == "ctrl-c":  # a terminal sends SIGINT to the whole group, workers too
        os.killpg(proc.pid, signal.SIGINT)
    else:  # as `kill` or `timeout` do: to the main process only
        proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=10)  # within seconds
        left = wait_gone(kids)
    finally:  # whatever failed, leave nothing running
        for pid in [proc.pid, *kids]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    rest = "".join(err[n_before:])
    assert status != 0 and "Traceback" not in rest, rest
    assert rest.splitlines()[-1] == "interrupted"
    assert not left, "workers outlived the sweep"
    files = sorted(p.name for p in cache.iterdir())
    assert files and all(f.endswith(".json") for f in files), files  # no .tmp, nothing else
    for f in files:
        R.read_entry(cache, f.removesuffix(".json"))  # complete and checksummed
    assert not (tmp_path / "out").exists()


WORKER_OF_A_KILLED_PARENT = """
import time
from fmnist import runner as R
with R.process_pool(1) as pool:
    print(pool.submit(R.os.getpid).result(), flush=True)
    pool.submit(time.sleep, 60)
    time.sleep(60)
"""


def test_a_worker_ends_when_its_parent_is_killed_outright():
    """SIGKILL leaves no time to clean up: the worker notices on its own."""
    proc = subprocess.Popen([sys.executable, "-c", WORKER_OF_A_KILLED_PARENT], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE)
    worker = int(proc.stdout.readline())
    assert alive(worker)
    proc.kill()
    proc.wait()
    assert not wait_gone([worker]), "the worker outlived its parent"


def test_a_bad_workers_setting_is_one_line_before_any_training(tmp_path):
    write_data_dir(tmp_path / "data", n_train=100, n_test=10)
    env = {**os.environ, "FMNIST_WORKERS": "abc", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "fmnist", "experiments", "--quick", "--data-dir",
                          str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--out",
                          str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "FMNIST_WORKERS" in lines[0] and "'abc'" in lines[0], run.stderr
    assert not (tmp_path / "cache").exists()
