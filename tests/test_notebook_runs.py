"""The `.ipynb` from `--to ipynb` runs top to bottom in a Jupyter kernel with this
environment's packages, as a grader might run it (issue 19, point 4)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tools.qmdrender.__main__ import main

DOC = """---
title: "A small report"
author:
  - name: Jane Doe
    id: "1"
execute:
  echo: false
---

# Data {#sec-data}

```{python}
#| label: setup
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown
values = np.arange(5.0)
```

The mean is `{python} f"{values.mean():.1f}"`, see @fig-line and @tbl-summary.

```{python}
#| label: fig-line
#| fig-cap: "A line."
#| fig-width: 4
plt.plot(values)
plt.show()
```

```{python}
#| label: tbl-summary
#| tbl-cap: "Summary."
pd.DataFrame({"n": [len(values)], "mean": [values.mean()]})
```

```{python}
#| output: asis
print(Markdown(f"**{values.sum():g}**").data)
with open("written-by-the-notebook.txt", "w") as f:
    f.write("ok")
```
"""


@pytest.mark.slow
def test_the_converted_notebook_runs_top_to_bottom(tmp_path):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text(DOC)
    assert main(["--to", "ipynb", str(qmd)]) == 0
    nb = nbformat.read(tmp_path / "doc.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(o.output_type != "error" for c in code for o in c.outputs)
    assert any("image/png" in o.get("data", {}) for o in code[1].outputs)  # the figure
    assert "text/html" in code[2].outputs[0]["data"]                      # the table
    assert code[3].outputs[0]["text"].strip() == "**10**"
    assert (tmp_path / "written-by-the-notebook.txt").read_text() == "ok"  # cwd: its folder
    assert nb.cells[0].cell_type == "raw"  # the front matter is not run
