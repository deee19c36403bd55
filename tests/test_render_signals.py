"""SIGTERM (`kill`, `timeout`) stops a render as Ctrl-C does: one line, status 130, no kernel
left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOC = """---
title: "A long chunk"
format: typst
---

```{python}
import os, time
open("kernel.pid", "w").write(str(os.getpid()))
time.sleep(120)
```
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_sigterm_stops_a_render_with_one_line_and_no_kernel_left(tmp_path):
    (tmp_path / "long.qmd").write_text(DOC, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tools.qmdrender", str(tmp_path / "long.qmd"),
                             "--build-dir", str(tmp_path / "build")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = tmp_path / "kernel.pid"
    for _ in range(600):  # the kernel starts and enters the chunk
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    kernel = int(pid_file.read_text())
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].endswith("interrupted")
    assert "Traceback" not in err
    for _ in range(100):
        if not alive(kernel):
            break
        time.sleep(0.1)
    assert not alive(kernel)
