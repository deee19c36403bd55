"""What the report says about the chosen models on the validation set, the prediction files and
where the data came from: sentences computed from the numbers, never asserted regardless of
them."""

from __future__ import annotations

import numpy as np

from fmnist import analysis as A

_WORDS = dict(enumerate(("no", "one", "two", "three", "four", "five", "six", "seven", "eight",
                         "nine", "ten")))


def confusion_text(C: np.ndarray) -> str:
    """'Shirt taken for T-shirt/top (82 images), ...'."""
    return A.series([f"{t} taken for {p} ({n} images)" for t, p, n in A.top_confusions(C, 3)])


def per_class_sentence(y_true, predictions: dict) -> str:
    """The hardest and easiest classes of the network, and where the models differ."""
    from fmnist.data import CLASS_NAMES

    acc = {k: A.per_class_accuracy(y_true, v) for k, v in predictions.items()}
    net, lin = acc["network"], acc["logistic regression"]
    order = np.argsort(net)
    better = int(np.sum(net > lin))
    gain = net - lin
    clear = int(np.sum(_clear_gains(y_true, predictions["network"],
                                    predictions["logistic regression"])))
    out = (f"The network's hardest class is {CLASS_NAMES[order[0]]} ({A.pct(net[order[0]])}), "
           f"then {CLASS_NAMES[order[1]]} ({A.pct(net[order[1]])}); its easiest is "
           f"{CLASS_NAMES[order[-1]]} ({A.pct(net[order[-1]])}). It is more accurate than "
           + ("logistic regression on every class" if better == len(net) else
              "logistic regression on no class" if better == 0 else
              f"logistic regression on {_WORDS.get(better, better)} of the ten classes"))
    if better == 1:
        out += ", by more than the noise" if clear else ", within the noise"
    elif better:
        out += (", by more than the noise on "
                + ("all of them" if clear == better else f"{_WORDS.get(clear, clear)} of them"))
    if better:
        out += " (twice the standard error of the paired difference on the same images)"
    if np.nanmax(gain) > 0:
        return (out + f", and the gain is largest for {CLASS_NAMES[int(np.nanargmax(gain))]} "
                f"({A.pts(float(np.nanmax(gain)))}).")
    return out + "."


def _clear_gains(y_true, a, b) -> np.ndarray:
    """Per class, whether predictions `a` beat `b` on the same images beyond noise: the gain
    (n_a_only - n_b_only) / n exceeds twice sqrt(n_a_only + n_b_only) / n, the standard error
    of a paired difference of proportions (McNemar's, normal approximation)."""
    y_true, a, b = (np.asarray(v) for v in (y_true, a, b))
    out = []
    for c in range(int(y_true.max()) + 1):
        m = y_true == c
        only_a = int(np.sum((a[m] == c) & (b[m] != c)))
        only_b = int(np.sum((b[m] == c) & (a[m] != c)))
        out.append(only_a - only_b > 2 * np.sqrt(only_a + only_b))
    return np.array(out)


def files_sentence(files: dict) -> str:
    """Where the deliverables were written, and their line counts (counted, each file)."""
    def lines(path):
        with open(path) as f:
            return sum(1 for _ in f)
    n = {k: lines(files[k]) for k in ("logreg", "nn")}
    counts = (f"{n['nn']:,} lines each" if n["logreg"] == n["nn"] else
              f"{n['logreg']:,} and {n['nn']:,} lines")
    return (f"{files['logreg']} (logistic regression) and {files['nn']} (the network) hold one "
            f"predicted class index 0-9 per line, in the order of test.csv, {counts}, with no "
            f"header. The two models are saved as {files['logreg_model']} and "
            f"{files['nn_model']}. No test label exists in this project, so no test accuracy is "
            "reported; the validation accuracies above are the best available estimate of it.")


def aims_sentence(reached: dict[str, tuple], aims: dict[str, float], n_val: int) -> str:
    """Each model's mean validation accuracy over seeds against its aim: met, or how far
    short and whether the shortfall is within noise (`analysis.compare` with the aim as a
    fixed value). `reached` {name: (mean, sd, seeds)}, `aims` {name: aim}."""
    parts = []
    for name, (mean, sd, n) in reached.items():
        aim = aims[name]
        said = f"{'the ' if name == 'network' else ''}{name} reaches {A.pm(mean, sd)}, "
        if mean >= aim:
            said += f"meeting its aim of {A.pct(aim)}"
        else:
            c = A.compare(mean, sd, n, aim, 0.0, 1, n_val)
            short = aim - mean
            said += (f"{A.pts(short, digits=2 if A.below_shown(short) else 1)} short of its "
                     f"aim of {A.pct(aim)}, "
                     f"{'within' if c.tie else 'beyond'} noise")
        parts.append(said)
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def hardest_classes_sentence(y_true, predictions: dict) -> str:
    """Whether the models find the same two classes hardest, said from the numbers."""
    from fmnist.data import CLASS_NAMES

    worst = {k: [CLASS_NAMES[i] for i in np.argsort(A.per_class_accuracy(y_true, v))[:2]]
             for k, v in predictions.items()}
    sets = [set(w) for w in worst.values()]
    if len(sets) > 1 and all(s == sets[0] for s in sets):
        who = "Both models find" if len(sets) == 2 else "All models find"
        return f"{who} the same two classes hardest: {A.series(sorted(sets[0]))}."
    return " ".join(f"The hardest classes of {'the ' if k == 'network' else ''}{k} are "
                    f"{A.series(w)}." for k, w in worst.items())


def provenance_paragraph(prov: dict, overlap: list, manifest: dict) -> str:
    """Page 1: where the data came from, what that means for the prediction files, any image
    shared by train.csv and test.csv, and the results fingerprint (Markdown)."""
    from fmnist.deliverables import fingerprint_line

    if prov["source"] == "built":
        text = ("**Data: built, not the course's files.** `data/train.csv` and `data/test.csv` "
                "were built by this project from Debian's `dataset-fashion-mnist` package"
                + (f" (seed {prov['seed']})" if prov.get("seed") is not None else "")
                + f": {prov['train_rows']:,} labelled and "
                f"{prov['test_rows']:,} unlabelled images drawn from the 70,000 images of "
                "Fashion-MNIST. The prediction files of this report are for that built "
                "`test.csv`, **not for the course's test set**: to hand in predictions, copy "
                "the course's `train.csv` and `test.csv` into `data/` and run `make report` "
                "again. Never apply a model trained on a built `train.csv` to the course's "
                "`test.csv`: the 70,000-image pool contains the course's test images, so such "
                "a model has seen some of them with their labels.")
    elif prov["source"] == "supplied":
        text = ("**Data: supplied.** `data/train.csv` "
                f"({prov['train_rows']:,} rows) and `data/test.csv` ({prov['test_rows']:,} rows) "
                "were supplied, not built by this project (no build record matches them), so "
                "they are taken to be the course's files; the prediction files are for this "
                "`test.csv`.")
    else:
        text = f"**Data: WARNING.** {prov['description']}"
    if overlap:
        shown = ", ".join(f"{t} and {s}" for t, s in overlap[:3])
        text += (f" **{len(overlap)} image(s) of `test.csv` also appear in `train.csv`** "
                 f"(train line and test line: {shown}{', ...' if len(overlap) > 3 else ''}).")
    return text + f"\n\n{fingerprint_line(manifest)}\n"
