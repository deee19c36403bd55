"""A read-only project folder or a full disk during a render gives one line, not a traceback
(issue 20, point 5). As root a chmod does not stop writes, so the failing write is injected
where the renderer first writes (the kernel's spec file in the build folder)."""

from __future__ import annotations

import errno
import os

import pytest

from tools.qmdrender import execute
from tools.qmdrender.__main__ import main


@pytest.mark.parametrize(("code", "says"), [(errno.EROFS, "writable"),
                                            (errno.EACCES, "writable"),
                                            (errno.ENOSPC, "space")])
def test_a_failed_write_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys, code, says):
    def fail(build_dir):
        raise OSError(code, os.strerror(code), str(build_dir / "kernels"))

    monkeypatch.setattr(execute, "write_kernelspec", fail)
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\nText.\n")
    assert main([str(qmd)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) - sum(ln.startswith("rendering ") for ln in err) == 1, err
    assert err[-1].startswith(f"error: {tmp_path / '_build' / 'doc' / 'kernels'}:")
    assert says in err[-1] and not (tmp_path / "doc.pdf").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_project_folder_is_one_line(tmp_path, capsys):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\nText.\n")
    tmp_path.chmod(0o555)
    try:
        assert main([str(qmd)]) == 1
    finally:
        tmp_path.chmod(0o755)
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
