"""What the report says about the final network (its search, its ablation and the choice
between them), how close the chosen models came to the project's aims, and the conclusions:
sentences and tables computed from the results, every comparison worded by the noise rule."""

from __future__ import annotations

import pandas as pd

from fmnist import analysis as A
from fmnist.experiments import Results
from fmnist.findings import MODEL_NAMES, NAMES, _finished, n_val, ranking_sentence
from fmnist.outcomes import aims_sentence, hardest_classes_sentence
from fmnist.plans import best_config_id, over_seeds

VARIANTS = {"final": "the searched recipe", "no_dropout": "without dropout",
            "no_augmentation": "without flips", "no_momentum_schedule":
            "with plain GD", "narrow": "with a narrower layer"}


def variant_names(plan, short: bool = False) -> dict[str, str]:
    """Each ablation variant as the report names it, saying what it changes where that is
    more than its name (plain GD also takes the sweeps' step and early stopping); `short`:
    as a table row or a list names it."""
    names = dict(VARIANTS)
    base, abl = plan.nn_final_base, plan.nn_ablation
    if "narrow" in abl:
        names["narrow"] = (f"with {abl['narrow']['hidden']} hidden units"
                           + ("" if short else f" instead of {base['hidden']}"))
    o = abl.get("no_momentum_schedule")
    if o and not short:
        names["no_momentum_schedule"] = (
            f"with plain GD: constant step {A.num(o.get('lr', base['lr']))}, no momentum, "
            f"early stopping with patience {o.get('patience', base['patience'])} within "
            f"{o.get('epochs', base['epochs'])} epochs")
    return names


def search_table(results: Results) -> str:
    """The final network's candidates on the search subset, mean ± sd; the chosen one bold."""
    st = over_seeds(results.nn_search)
    factors = list(results.ctx.plan.nn_final_search)
    chosen = best_config_id(results.nn_search)  # what run_all chose, not just the top mean
    rows = []
    for _, r in st.iterrows():
        cells = [A.num(r[f]) for f in factors] + [A.pm(r["mean"], r["sd"]),
                                                   A.best_epoch_cell(r)]
        rows.append([f"**{c}**" for c in cells] if r["config_id"] == chosen else cells)
    return A.md_table(pd.DataFrame(rows, columns=[NAMES.get(f, f) for f in factors]
                                   + ["validation", "best epoch"]), ["r"] * (len(factors) + 2))


def ablation(results: Results) -> pd.DataFrame:
    """Each variant of the ablation against the searched recipe: mean, sd, comparison."""
    st = over_seeds(results.nn_ablation)
    names = dict(zip(results.nn_ablation["config_id"], results.nn_ablation["variant"],
                     strict=False))
    st.insert(0, "variant", st["config_id"].map(names))
    for col, short in (("name", False), ("label", True)):
        labels = variant_names(results.ctx.plan, short)
        st.insert(1, col, [labels.get(v, v) for v in st["variant"]])
    final = st[st["variant"] == "final"].iloc[0]
    nval = n_val(results)
    st["comparison"] = [None if r["variant"] == "final" or not _finished(r) or not _finished(final)
                        else A.compare_rows(r, final, nval) for _, r in st.iterrows()]
    return st


def ablation_table(results: Results) -> str:
    st = ablation(results)
    rows = []
    for _, r in st.iterrows():
        c = r["comparison"]
        effect = ("diverged" if not _finished(r) else "" if c is None
                  else f"{100 * c.shown:+.1f} ({'tie' if c.tie else 'real'})")
        rows.append([r["label"], A.pm(r["mean"], r["sd"]),
                     A.pct(r["train_acc"]),
                     f"{A.shown_gap(r['train_acc'], r['mean']):.1f}",
                     A.best_epoch_cell(r) if _finished(r) else "-", effect])
    return A.md_table(pd.DataFrame(rows, columns=["variant", "validation", "training",
                                                  "gap (points)", "best epoch",
                                                  "change (points)"]),
                      ["l", "r", "r", "r", "r", "r"])


def ablation_sentence(st: pd.DataFrame) -> str:
    """What each aid is worth, by the noise rule: the variants clearly worse than the full
    recipe, those clearly better, those tied with it, and those that diverged."""
    name = dict(st["name"])
    compared = [(i, r["comparison"]) for i, r in st.iterrows() if r["comparison"] is not None]
    worse = [f"{name[i]} ({A.pts(c.diff)} lower)" for i, c in compared
             if not c.tie and c.diff < 0]
    better = [f"{name[i]} ({A.pts(c.diff)} higher)" for i, c in compared
              if not c.tie and c.diff > 0]
    ties = [name[i] for i, c in compared if c.tie]
    diverged = [name[i] for i, r in st.iterrows() if not _finished(r)]
    out = []
    if worse:
        out.append("Clearly worse than the searched recipe: " + A.series(worse) + ".")
    if better:
        out.append("Clearly better than the searched recipe: " + A.series(better) + ".")
    if ties:
        out.append("Tied with it within noise: " + A.series(ties) + ".")
    if diverged:
        out.append(f"Diverged (not compared): {A.series(diverged)}.")
    return " ".join(out) or "No variant differs from the searched recipe."


def dropout_histories(results: Results) -> dict[str, pd.DataFrame]:
    """Seed 0's curves of the searched recipe with and without dropout (from the ablation)."""
    from fmnist.experiments import history

    df = results.nn_ablation
    out = {}
    for variant, label in (("final", "with dropout"), ("no_dropout", "without dropout")):
        row = df[(df["variant"] == variant) & (df["random_state"] == 0)].iloc[0]
        out[label] = history(df, row["key"])
    return out


def conclusions(results: Results, y_val, predictions: dict) -> str:
    """The closing paragraph, every comparison worded by the noise rule."""
    nval = n_val(results)
    lr_best, nn_best = results.best["logreg"], results.best["nn"]
    lr_st, nn_st = over_seeds(lr_best.runs).iloc[0], over_seeds(nn_best.runs).iloc[0]
    c = A.compare_rows(nn_st, lr_st, nval)
    abl = ablation(results)
    compared = [(r["label"], r["comparison"])
                for _, r in abl.iterrows() if r["comparison"] is not None]
    loses = [v for v, cmp in compared if not cmp.tie and cmp.diff < 0]
    gains = [v for v, cmp in compared if not cmp.tie and cmp.diff > 0]
    if loses or gains:
        said = []
        if loses:
            said.append(f"the ablation loses clearly {A.series(loses, last='or')}")
        if gains:
            said.append(f"it gains clearly {A.series(gains, last='or')}")
        ablation_text = "; ".join(said)
    else:
        ablation_text = "no single aid makes a difference beyond noise in the ablation"
    return (f"Multinomial logistic regression reaches {A.pm(lr_st['mean'], lr_st['sd'])} "
            f"validation accuracy over seeds, and the network with one hidden layer "
            f"{A.pm(nn_st['mean'], nn_st['sd'])}: "
            f"{A.wording(c, other='logistic regression')}. "
            f"One setting at a time around each baseline, on the search subset: for "
            f"logistic regression, {ranking_sentence(results.logreg, nval)}; for the "
            f"network, {ranking_sentence(results.nn, nval)}. In the searched recipe, "
            + ablation_text + ". " + hardest_classes_sentence(y_val, predictions))


def aims(results: Results) -> str:
    """How close each chosen model came to the project's aim (`plans.AIMS`)."""
    from fmnist.plans import AIMS

    reached = {MODEL_NAMES[k]: tuple(over_seeds(b.runs).iloc[0][["mean", "sd", "n"]])
               for k, b in results.best.items()}
    aims_by_name = {MODEL_NAMES[k]: a for k, a in AIMS.items()}
    return aims_sentence(reached, aims_by_name, n_val(results))


def _candidate(row, results: Results) -> str:
    """A search candidate by its searched settings: 'dropout rate 0.4, learning rate 0.05'."""
    return ", ".join(f"{NAMES.get(f, f)} {A.num(row[f])}" for f in results.ctx.plan.nn_final_search)


def final_choice_sentence(results: Results) -> str:
    """Which configuration became the final network (the best mean among the search's
    candidates and the ablation's variants), and whether its lead is within noise."""
    nval = n_val(results)
    rows = [(r["mean"], "the searched recipe with " + _candidate(r, results), r)
            for _, r in over_seeds(results.nn_search).iterrows() if _finished(r)]
    rows += [(r["mean"], r["name"], r) for _, r in ablation(results).iterrows()
             if _finished(r) and r["variant"] != "final"]  # "final" is a search candidate
    rows.sort(key=lambda t: -t[0])
    (_, n1, r1), (_, n2, r2) = rows[0], rows[1]
    c = A.compare_rows(r2, r1, nval)
    name = n1 if n1.startswith("the searched") else f"the recipe {n1}"
    return (f"The final network is the configuration with the best mean over seeds among the "
            f"search's candidates and the ablation's variants: {name} "
            f"({A.pm(r1['mean'], r1['sd'])}); the next best, "
            f"{n2 if n2.startswith('the searched') else 'the recipe ' + n2}, is "
            f"{A.wording(c, other='it')}.")


def search_sentence(results: Results) -> str:
    """Whether the search's chosen candidate beats the runner-up beyond noise (no tie broken
    silently)."""
    st = over_seeds(results.nn_search)
    ok = st[[_finished(r) for _, r in st.iterrows()]]
    if len(ok) < 2:
        return "The search had a single candidate that finished."
    chosen = ok[ok["config_id"] == best_config_id(results.nn_search)].iloc[0]
    runner = ok[ok["config_id"] != chosen["config_id"]].sort_values("mean").iloc[-1]
    c = A.compare_rows(chosen, runner, n_val(results))
    out = (f"The search's best candidate ({_candidate(chosen, results)}) is "
           f"{A.wording(c, other='the next')}")
    return out + ("; it is kept for its higher mean." if c.tie else ".")
