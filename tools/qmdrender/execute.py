"""Run chunks in a Jupyter kernel (nbclient + ipykernel), as Quarto's Jupyter engine does.

The kernel is launched from `sys.executable` through a kernelspec written into the build
folder, so it always uses the renderer's own interpreter and packages; its working
directory is the project root.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

KERNEL_NAME = "qmdrender-python"


def write_kernelspec(build_dir: Path) -> Path:
    """A kernelspec that starts ipykernel with this very interpreter; returns its folder."""
    kernels = build_dir / "kernels"
    spec_dir = kernels / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],  # not its start-up warnings
        "display_name": f"Python ({sys.executable})",
        "language": "python",
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return kernels


class ChunkError(Exception):
    """Code raised in the kernel; `.ename`, `.evalue`, `.traceback` as the kernel sent them."""

    def __init__(self, ename: str, evalue: str, traceback: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue, self.traceback = ename, evalue, traceback


class KernelDied(Exception):
    """The kernel process ended (crash, `os._exit`, killed) while running code."""


class _EchoingClient(NotebookClient):
    """Echoes what a chunk writes to stderr (progress of long work) to `echo` as it arrives."""

    echo = None
    echoed = False  # set when something was echoed; Progress then ends the chunk on a new line

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        is_stderr = msg["msg_type"] == "stream" and content.get("name") == "stderr"
        if self.echo is not None and is_stderr:
            self.echo.write("".join(f"\n      {line}" for line in content["text"].splitlines()))
            self.echo.flush()
            self.echoed = True
        return super().output(outs, msg, display_id, cell_index)


class Kernel:
    """A running kernel: `run(code) -> outputs` (nbformat output dicts), used as a context.

    With `echo` (a text stream), what the chunks write to stderr is also shown there live.
    """

    def __init__(self, cwd: Path, build_dir: Path, timeout: int | None = None, echo=None):
        kernels = write_kernelspec(build_dir)

        class _Manager(AsyncKernelManager):
            def _kernel_spec_manager_default(self):
                return KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)

        self.nb = nbformat.v4.new_notebook()
        self.client = _EchoingClient(
            self.nb, kernel_name=KERNEL_NAME, kernel_manager_class=_Manager, timeout=timeout,
            resources={"metadata": {"path": str(cwd)}}, allow_errors=True,
            record_timing=False,
            # every chunk has finished (and written its files) by then; a graceful shutdown
            # that overruns its wait on a busy machine ends in SIGINT, which the kernel
            # reports as "KeyboardInterrupt caught in kernel" on the terminal
            shutdown_kernel="immediate",
        )
        self.client.echo = echo
        self._context = None

    def __enter__(self) -> Kernel:
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._context.__exit__(*exc)
        except Exception:  # noqa: BLE001 - shutting down a dead kernel may fail; an error
            if exc[0] is None:  # raised in the body is the one to report
                raise

    def run(self, code: str) -> list[dict]:
        """Execute `code`; raise `ChunkError` if it raised, else return its outputs."""
        cell = nbformat.v4.new_code_cell(code)
        self.nb.cells.append(cell)
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        except DeadKernelError as err:
            raise KernelDied(str(err)) from None
        except CellExecutionError as err:  # allow_errors=True makes this rare; keep it uniform
            raise ChunkError(err.ename, err.evalue, str(err)) from None
        outputs = [dict(o) for o in cell.outputs]
        for out in outputs:
            if out.get("output_type") == "error":
                tb = _strip_ansi("\n".join(out.get("traceback", [])))
                raise ChunkError(out.get("ename", "Error"), out.get("evalue", ""), tb)
        return outputs

    def evaluate(self, expressions: list[str]) -> list[dict]:
        """Evaluate expressions as Jupyter `user_expressions`, as Quarto does for inline code.

        Returns one reply per expression: `{"status": "ok", "data": {mime: text}}` or
        `{"status": "error", "ename": ..., "evalue": ...}`.
        """
        exprs = {str(i): e for i, e in enumerate(expressions)}
        try:
            msg_id = self.client.kc.execute("", user_expressions=exprs)
            reply = self.client.wait_for_reply(msg_id)
        except DeadKernelError as err:
            raise KernelDied(str(err)) from None
        if reply is None:
            raise KernelDied("no reply from the kernel")
        results = reply["content"].get("user_expressions", {})
        return [results.get(k, {"status": "error", "ename": "Error", "evalue": "no result"})
                for k in exprs]

    def run_allowing_errors(self, code: str) -> list[dict]:
        """Execute `code` and return its outputs, an error included as an output."""
        try:
            return self.run(code)
        except ChunkError as err:
            return [{"output_type": "error", "ename": err.ename, "evalue": err.evalue,
                     "traceback": err.traceback.splitlines()}]


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def setup_code(fig_width: float, fig_height: float, fig_format: str, fig_dpi: int) -> str:
    """Hidden first cell: inline matplotlib with the document's figure size, format and dpi."""
    formats = ["svg"] if fig_format == "svg" else ["png"]
    return "\n".join([
        "import matplotlib",
        "matplotlib.use('module://matplotlib_inline.backend_inline')",
        "import matplotlib.pyplot as _qmd_plt",
        "from IPython import get_ipython as _qmd_ip",
        f"_qmd_ip().run_line_magic('config', {f'InlineBackend.figure_formats = {formats!r}'!r})",
        "_qmd_ip().run_line_magic('config', 'InlineBackend.rc = {}')",
        f"_qmd_plt.rcParams['figure.figsize'] = ({fig_width}, {fig_height})",
        f"_qmd_plt.rcParams['figure.dpi'] = {fig_dpi}",
        f"_qmd_plt.rcParams['savefig.dpi'] = {fig_dpi}",
        "del _qmd_plt, _qmd_ip",
    ])


def figsize_code(width: float, height: float) -> str:
    return f"__import__('matplotlib').rcParams['figure.figsize'] = ({width}, {height})"


class Progress:
    """Chunk progress on stderr: `[i/n] label ... 1.2 s`."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self._t0 = 0.0

    def start(self, i: int, label: str) -> None:
        self._t0 = time.perf_counter()
        self.label = label
        print(f"  [{i}/{self.total}] {label} ...", end="", file=self.stream, flush=True)

    def done(self, note: str = "", after_echo: bool = False) -> None:
        dt = time.perf_counter() - self._t0
        if after_echo:  # the chunk's own lines came in between: say again which chunk ended
            print(f"\n  {self.label} done", end="", file=self.stream)
        print(f" {dt:.1f} s{note}", file=self.stream, flush=True)
