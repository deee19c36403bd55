"""fmnist.tables: number formats and the report's Markdown tables, from hand-made frames
(built as in tests/test_verdicts.py)."""

import re

import numpy as np
import pandas as pd
import pytest

from fmnist import tables as T
from tests.test_verdicts import FINAL, N_VAL, NAN, NN_BASE, make_results, runs, spread, sweep

# --------------------------------------------------------------------------- numbers


def test_pct_pts_pm():
    assert T.pct(0.8612) == "86.1%" and T.pct(0.8612, 2) == "86.12%" and T.pct(1.0) == "100.0%"
    assert T.pct(0.5, 0) == "50%"
    assert T.pct(NAN) == "-" and T.pct(None) == "-"
    assert T.pts(0.012) == "1.2" and T.pts(-0.012) == "1.2"  # a size, signless
    assert T.pts(0.00123, 2) == "0.12" and T.pts(0.0003, 2) == "0.03"
    assert T.pm(0.8612, 0.0021) == "86.1 ± 0.2%"
    assert T.pm(0.8612, NAN) == "86.1%" and T.pm(0.8612, None) == "86.1%"  # one seed: no spread
    assert T.pm(NAN, 0.01) == "-" and T.pm(None, None) == "-"


@pytest.mark.parametrize("value, text", [
    (1e-05, "1e-5"), (2.5e-05, "2.5e-5"), (1e-4, "1e-4"), (0.001, "0.001"), (0.1, "0.1"),
    (0.03, "0.03"), (128, "128"), (128.0, "128"), (np.float64(512.0), "512"), (np.int64(16), "16"),
    (0, "0"), (0.0, "0"), (1.5, "1.5"), (20000.0, "2e4"), (12345.0, "1.2345e4"),
    (None, "none"), (NAN, "none"), (True, "yes"), (False, "no"), ("relu", "relu"),
])
def test_num_reads_as_a_setting(value, text):
    assert T.num(value) == text


def test_md_table_header_alignment_row_and_cells():
    df = pd.DataFrame({"name": ["a", "b"], "n": [1, 22], "x": [0.5, 1.0]})
    lines = T.md_table(df).split("\n")
    # alignment marks, and dashes for the column's longest cell + 4 (Pandoc's widths)
    assert lines == ["| name | n | x |", "|:--------|------:|-------:|", "| a | 1 | 0.5 |",
                     "| b | 22 | 1.0 |"]
    assert T.md_table(df, align=["c", "l", "r"]).split("\n")[1] == "|:--------:|:------|-------:|"


def lines(table: str) -> list[str]:
    return table.split("\n")


def test_sweep_table_one_row_per_value_the_factor_named_on_its_first():
    table = lines(T.sweep_table(make_results().logreg, {"lr": 0.01, "l2": 0.0}))
    assert table[0] == "| factor | value | validation | training | gap (points) | best epoch |"
    assert re.fullmatch(r"\|:-+\|:-+\|-+:\|-+:\|-+:\|-+:\|", table[1])
    assert sum(line.startswith("| factor") for line in table) == 1
    assert table[2].startswith("| learning rate | 0.001 |")
    assert table[3].startswith("|  | 0.01 (base) |")
    assert table[6].startswith("| L2 coefficient | 0 (base) |")
    assert len(table) == 2 + 4 + 2


def test_sweep_table_cells_mean_sd_training_gap_and_best_epoch():
    df = sweep("logreg", "lr", [0.01, 0.1], [[0.83, 0.84, 0.85], [0.8376] * 3])
    df["train_acc"] = [0.86, 0.87, 0.88] + [0.8814] * 3
    df["best_epoch"] = [4, 5, 6, 9, 9, 9]
    table = lines(T.sweep_table({"lr": df}, {"lr": 0.1}))
    assert table[2] == "| learning rate | 0.01 | 84.0 ± 1.0% | 87.0% | 3.0 | 5 of 10 |"
    # the gap is the difference of the accuracies as shown: 88.1 - 83.8 = 4.3 (not 4.4)
    assert table[3] == "|  | 0.1 (base) | 83.8 ± 0.0% | 88.1% | 4.3 | 9 of 10 |"


def test_sweep_table_flags_runs_the_epoch_limit_ended():
    """† the epoch limit, not early stopping, ended a seed that may still have been improving:
    its best epoch was its last, or within its patience of it."""
    df = sweep("logreg", "batch_size", [128, 256, 512],
               [spread(0.85), spread(0.84), spread(0.83)])
    df.loc[df["batch_size"] == 256, "cut_short"] = [False, True, True]
    df.loc[df["batch_size"] == 512, "cut_short"] = True
    df.loc[df["batch_size"] == 512, "at_last_epoch"] = [True, False, False]
    table = lines(T.sweep_table({"batch_size": df}, {}))
    assert table[2].endswith("| 5 of 10 |")
    assert table[3].endswith("| 5 of 10 † |")
    assert table[4].endswith("| 5 of 10 † |")
    assert "(base)" not in "\n".join(table)


def test_a_fixed_length_run_is_not_flagged_for_ending_at_its_limit():
    """A run without early stopping (patience None, e.g. a cosine schedule) is meant to end at
    its epoch limit: † would say nothing about it."""
    df = runs("nn", [dict(patience=None), dict(patience=8)], [spread(0.88), spread(0.87)])
    df["at_last_epoch"] = True
    table = lines(T.candidates_table(df, ["patience"], chosen=-1))
    assert table[2].endswith("| 5 of 10 |") and table[3].endswith("| 5 of 10 † |")


def test_sweep_table_diverged_settings():
    df = sweep("logreg", "lr", [0.1, 1.0, 10.0, 100.0],
               [spread(0.85), [NAN] * 3, [0.84, NAN, NAN], [0.84, 0.85, NAN]])
    df["peak_before"] = [NAN] * 3 + [0.824] * 3 + [NAN, 0.80, 0.82] + [NAN] * 3
    table = lines(T.sweep_table({"lr": df}, {}))
    assert table[3] == "|  | 1 | diverged (after 82.4%) | - | - | - |"  # every seed: no count
    assert table[4] == ("|  | 10 | diverged (2 of 3 seeds, after 81.0%, the others 84.0%) "
                        "| - | - | - |")
    assert table[5] == "|  | 100 | diverged (1 of 3 seeds, the others 84.5%) | - | - | - |"


def test_sweep_table_leaves_the_activation_grid_to_its_own_table():
    table = T.sweep_table(make_results().nn, NN_BASE)
    assert "| hidden size |" in table and "| activation |" not in table


def test_two_way_table_each_activation_at_each_rate():
    table = lines(T.two_way_table(make_results().nn["activation"], "activation", "lr"))
    assert table[0] == "| activation | lr 0.03 | lr 0.1 | lr 0.3 | lr 3 |"
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|-+:\|-+:\|", table[1])
    assert table[2] == "| relu | 86.0 ± 0.1% | 87.0 ± 0.1% | — | — |"
    assert table[3] == "| tanh | — | 86.8 ± 0.1% | — | — |"
    assert table[4] == "| sigmoid | — | — | 84.0 ± 0.1% | diverged |"  # every seed: no count
    assert len(table) == 5


def test_two_way_table_batch_size_by_learning_rate():
    grid = runs("logreg", [dict(batch_size=b, lr=lr) for b in (512, 32) for lr in (0.003, 0.03)],
                [spread(0.80), [NAN] * 3, spread(0.85), [0.86, NAN, NAN]])
    table = lines(T.two_way_table(grid, "batch_size", "lr"))
    assert table[0] == "| batch size | lr 0.003 | lr 0.03 |"
    assert table[2:] == ["| 32 | 85.0 ± 0.1% | diverged (2 of 3; others 86.0%) |",  # sorted
                         "| 512 | 80.0 ± 0.1% | diverged |"]


def test_search_table_bolds_the_configuration_run_all_chose():
    table = lines(T.search_table(make_results(), N_VAL))
    assert table[0] == "| dropout rate | validation | training | gap (points) | best epoch |"
    # 0.4 has the higher mean over its finished seeds, but a seed diverged: 0.2 was chosen
    assert table[2] == "| **0.2** | **88.0 ± 0.1%** | **90.0%** | **2.0** | **5 of 10** |"
    assert table[3] == "| 0.4 | diverged (1 of 3 seeds, the others 95.0%) | - | - | - |"


def test_ablation_table_change_against_the_recipe():
    table = lines(T.ablation_table(make_results(), N_VAL))
    assert table[0] == ("| variant | validation | training | gap (points) | best epoch | "
                        "change (points) |")
    assert table[2] == "| final recipe (subset) | 88.0 ± 0.1% | 90.0% | 2.0 | 5 of 10 |  |"
    assert table[3].startswith("| without dropout |") and table[3].endswith("| -2.0 (real) |")
    assert table[4].startswith("| with flips |") and table[4].endswith("| -0.1 (tie) |")
    assert table[5].startswith("| narrower layer |") and table[5].endswith("| +2.0 (real) |")
    assert table[6] == "| plain GD | diverged | - | - | - |  |"


def test_chosen_table_every_setting_of_both_models():
    res = make_results()
    res.best["logreg"].config = dict(lr=0.1, batch_size=64, epochs=30, l2=0.0)
    res.best["nn"].config = {**FINAL, "batch_size": 128, "l2": 1e-4, "augment": "flip",
                             "patience": 8}
    table = lines(T.chosen_table(res))
    assert table[0] == "| setting | symbol | logistic regression | network |"
    rows = {cells[0]: cells[2:] for cells in
            ([c.strip() for c in r.strip("| ").split(" | ")] for r in table[2:])}
    assert all(name in rows for name, _, _ in T.SETTINGS)
    assert rows["hidden size"] == ["—", "512"]  # not a setting of the model
    assert rows["learning rate"] == ["0.1", "0.05"]
    assert rows["epochs (patience)"] == ["30 (none)", "20 (8)"]  # unset: the model's default
    assert rows["L2, L1 coefficients"] == ["0, 0", "1e-4, 0"]
    assert rows["augmentation"] == ["none", "flip"]
    assert rows["momentum"] == ["0", "0"]
    assert rows["dropout rate"] == ["—", "0.3"]  # not a setting of logistic regression
    assert rows["parameters"] == ["7,850", f"{784 * 512 + 512 + 512 * 10 + 10:,}"]
    assert rows["validation, mean ± sd over seeds"] == ["85.0 ± 0.1%", "88.0 ± 0.1%"]
    assert rows["seed 0: kept epoch, validation"] == ["5, 84.9%", "5, 87.9%"]
    assert rows["submitted: refit epochs, all images"] == ["5", "5"]


def test_tables_show_a_run_with_one_seed_without_a_spread():
    one = runs("nn", [{**NN_BASE, "hidden": 64}], [[0.8512]])
    assert lines(T.sweep_table({"hidden": one}, {}))[2] == (
        "| hidden size | 64 | 85.1% | 87.1% | 2.0 | 5 of 10 |")


def test_ablation_table_compares_nothing_when_the_recipe_itself_diverged():
    res = make_results(ablation={"final": [NAN] * 3, "no_dropout": spread(0.86)})
    table = lines(T.ablation_table(res, N_VAL))
    assert table[2] == "| final recipe (subset) | diverged | - | - | - |  |"
    assert table[3] == "| without dropout | 86.0 ± 0.1% | 88.0% | 2.0 | 5 of 10 |  |"
