"""`python -m fmnist figure | train | experiments`: one function pair per command. Errors the
user can fix end in one line `error: ...`, exit status 2 (1 for a diverged run), no traceback."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
import zipfile
from pathlib import Path

from fmnist.data import DataError, default_data_dir
from fmnist.plans import quick_enabled


class _Parser(argparse.ArgumentParser):
    """Errors as one line `prog: error: ...` and status 2, not the whole usage first."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):  # "(default: ...)" unless the help already says it
        text = action.help or ""
        return text if "default" in text else super()._get_help_string(action)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, type=Path,
                        help="the CSV files' folder (default: $FMNIST_DATA_DIR or ./data)")


def _nonnegative_int(text: str) -> int:
    if not text.strip().isdecimal() or not text.isascii():
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return int(text)


def _fraction(text: str) -> float:
    with contextlib.suppress(ValueError):
        if 0.0 < float(text) < 1.0:
            return float(text)
    raise argparse.ArgumentTypeError(f"must be a number strictly between 0 and 1, got {text!r}")


_PREDICTIONS = re.compile(rb"([0-9]\r?\n)*([0-9]\r?\n?)?")  # one class per line
FIGURE_FORMATS = ("png", "pdf", "svg")


def check_output(path: Path, option: str, data_dir: Path | None = None) -> Path:
    """Fail before any work when `path` cannot or must not be written: a folder, a missing or
    read-only parent; with `data_dir`, also a file of the data folder, the report's source, or
    an existing file that is not what `option` writes (predictions for --out, a model for
    --save). A long run never ends in an error at its last step, nor overwrites an input."""
    parent = next(p for p in path.parents if p.exists())
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        why = ("is a folder" if path.is_dir() else f"{parent} is a file, not a folder"
               if not parent.is_dir() else f"cannot write into {parent} (permission denied)")
        raise DataError(f"{path}: {why}; give {option} another file name")
    if data_dir is None:
        return path
    if path.resolve().parent == data_dir.resolve() or path.suffix in (".qmd", ".ipynb", ".py"):
        raise DataError(f"{path}: is an input of the project (a data file or the report); give "
                        f"{option} another file name, e.g. "
                        f"{'pred.csv' if option == '--out' else 'model.npz'}")
    if path.is_file() and not _written_by(path, option):
        what = "a predictions file" if option == "--out" else "a model saved by fmnist"
        raise DataError(f"{path}: exists and is not {what}, so {option} does not replace it; "
                        "give another file name, or move that file away first")
    return path


def _written_by(path: Path, option: str) -> bool:  # predictions for --out, a model for --save
    if option == "--out":
        with open(path, "rb") as f:
            return bool(_PREDICTIONS.fullmatch(f.read(1 << 20)))
    with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(path) as zf:
        return "meta.npy" in zf.namelist()
    return False


# ------------------------------------------------------------------------------- figure

def figure_arguments(parser) -> None:
    parser.add_argument("--out", default=Path("figures/examples.png"), type=Path,
                        help="image file to write: .png, .pdf or .svg")
    _data_dir_option(parser)
    parser.add_argument("--seed", type=_nonnegative_int, default=0, help="which examples to draw")


def figure(args) -> int:
    from fmnist import plots
    from fmnist.data import atomic_write, load_train

    check_output(args.out, "--out")
    fmt = args.out.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise DataError(f"{args.out}: unknown image format {args.out.suffix or '(no suffix)'!r}; "
                        f"end the name in {', '.join('.' + f for f in FIGURE_FORMATS)}")
    X, y = load_train((args.data_dir or default_data_dir()) / "train.csv")
    fig = plots.plot_examples(X, y, random_state=args.seed)
    with atomic_write(args.out, "wb") as f:
        fig.savefig(f, format=fmt, dpi=150, bbox_inches="tight")
    plots.plt.close(fig)
    print(f"wrote {args.out}")
    return 0


# ------------------------------------------------------------------------------- train

def train_arguments(parser) -> None:
    """Options of `train`: every hyper-parameter of the chosen model, defaults from its class."""
    from fmnist.functional import ACTIVATIONS
    from fmnist.models import AUGMENTATIONS, LR_SCHEDULES, MODELS

    defaults = {kind: cls().get_params() for kind, cls in MODELS.items()}
    S = argparse.SUPPRESS

    def default(name):
        values = {kind: "none" if d[name] is None else d[name]
                  for kind, d in defaults.items() if name in d}
        if len(set(map(repr, values.values()))) == 1:
            return f"default: {next(iter(values.values()))}"
        return "default: " + ", ".join(f"{v} for {k}" for k, v in values.items())

    parser.add_argument("--model", choices=tuple(MODELS), default="nn", help="logreg = "
                        "multinomial logistic regression, nn = one-hidden-layer network")
    for name, kwargs, text in (
            ("hidden", {"type": int}, "hidden units d (nn; {})"),
            ("activation", {"choices": tuple(ACTIVATIONS)}, "hidden activation g (nn; {})"),
            ("dropout", {"type": float}, "dropout rate on the hidden layer (nn; {})"),
            ("lr", {"type": float}, "learning rate ({})"),
            ("batch_size", {"type": int}, "mini-batch size ({})"),
            ("epochs", {"type": int}, "at most this many epochs ({})"),
            ("patience", {"type": int}, "stop after this many epochs without a better "
                                        "validation accuracy ({}: run every epoch)"),
            ("l2", {"type": float}, "L2 coefficient, penalty l2/2 ||W||^2 ({})"),
            ("l1", {"type": float}, "L1 coefficient, penalty l1 ||W||_1 ({})"),
            ("momentum", {"type": float}, "momentum, 0 = plain mini-batch GD ({})"),
            ("lr_schedule", {"choices": LR_SCHEDULES}, "learning-rate schedule ({})")):
        parser.add_argument("--" + name.replace("_", "-"), default=S,
                            help=text.format(default(name)), **kwargs)
    parser.add_argument("--nesterov", action="store_true", default=S,
                        help="Nesterov momentum (default: off)")
    parser.add_argument("--augment", choices=[a or "none" for a in AUGMENTATIONS], default=S,
                        help="random training-batch augmentation (default: none)")
    parser.add_argument("--last-epoch", action="store_true",
                        help="keep the weights of the last epoch instead of the best "
                             "validation epoch")
    parser.add_argument("--val-fraction", type=_fraction, default=0.1,
                        help="share of train.csv held out for validation")
    parser.add_argument("--seed", type=_nonnegative_int, default=0,
                        help="seed of the split, the initial weights, shuffling and dropout")
    _data_dir_option(parser)
    parser.add_argument("--out", metavar="FILE", type=Path, default=None,
                        help="write test predictions here, one class per line (default: none)")
    parser.add_argument("--save", metavar="NPZ", type=Path, default=None, help="save the "
                        "trained model: weights, settings, scaler, history (default: none)")


def build_model(args: argparse.Namespace):
    """The model that parsed `train` options describe; options not given keep the defaults."""
    from fmnist.models import MODELS

    cls = MODELS[args.model]
    accepted = cls().get_params()
    given = {k: getattr(args, k) for k in accepted if k not in ("random_state", "verbose",
                                                                 "restore_best")
             and hasattr(args, k)}
    other = [k for k in ("hidden", "activation", "dropout") if hasattr(args, k)
             and k not in accepted]
    if other:
        raise DataError(f"--{other[0]} applies to --model nn only")
    if given.get("augment") == "none":
        given["augment"] = None
    model = cls(random_state=args.seed, restore_best=not args.last_epoch, **given)
    try:
        model._validate()
    except ValueError as err:
        raise DataError(f"bad option: {err}") from None
    return model


def train(args) -> int:
    """Train one model on train.csv's training part, report each epoch, optionally predict."""
    from fmnist.data import load_test, load_train, train_val_split, write_predictions
    from fmnist.experiments import mark_quick
    from fmnist.training import format_record

    model = build_model(args)
    data_dir = args.data_dir or default_data_dir()
    for path, option in ((args.out, "--out"), (args.save, "--save")):
        if path is not None:
            check_output(path, option, data_dir)
    X, y = load_train(data_dir / "train.csv")
    X_test = load_test(data_dir / "test.csv") if args.out else None
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, args.val_fraction, args.seed)
    quick = quick_enabled()
    if quick:
        X_tr, y_tr = X_tr[:5000], y_tr[:5000]
        model.set_params(epochs=min(model.epochs, 2))
        print("quick mode (FMNIST_QUICK=1): 5000 training examples, at most 2 epochs",
              file=sys.stderr)
    print(f"{model!r}\ntraining on {len(X_tr)} examples, validating on {len(X_val)}",
          flush=True)
    t0 = time.perf_counter()
    model.fit(X_tr, y_tr, X_val, y_val,
              callback=lambda epoch, rec: print(format_record(rec, model.epochs), flush=True))
    kept = "last" if args.last_epoch else f"best ({model.best_epoch_})"
    print(f"validation accuracy {model.score(X_val, y_val):.4f} with the {kept} epoch's weights, "
          f"{time.perf_counter() - t0:.1f} s in all", flush=True)
    if args.save:
        model.save(args.save)
        mark_quick(args.save, quick)
        print(f"saved the model to {args.save}")
    if args.out:
        write_predictions(args.out, model.predict(X_test))
        mark_quick(args.out, quick)
        print(f"wrote test predictions to {args.out}")
    return 0


# ------------------------------------------------------------------------------- experiments

def experiments_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="quick mode (also FMNIST_QUICK=1): small subsets, few epochs; "
                             "outputs are marked .quick")
    _data_dir_option(parser)
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache folder (default .cache/experiments[-quick]/)")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="where lr_pred.csv, NN_pred.csv and models/ are written")
    parser.add_argument("--from-models", action="store_true",
                        help="only remake the prediction files from models/*.npz, no training")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def experiments(args) -> int:
    from fmnist import experiments as E
    from fmnist.runner import fmt_seconds

    ctx = E.Context.create(quick=True if args.quick else None, data_dir=args.data_dir,
                           cache=args.cache, progress=not args.quiet)
    if args.from_models:
        for path in E.remake_predictions(ctx, out=args.out).values():
            print(f"wrote {path}")
        return 0
    t0 = time.perf_counter()
    results = E.run_all(ctx)
    files = E.write_deliverables(results, out=args.out)
    mode = "QUICK MODE (not real results)" if ctx.quick else "full mode"
    print(f"experiments, {mode}: {fmt_seconds(time.perf_counter() - t0)} (m:s)")
    for kind, best in results.best.items():
        print(f"best {kind}: val_acc {best.val_acc:.4f} at epoch {best.best_epoch}")
    for path in files.values():
        print(f"wrote {path}")
    return 0


COMMANDS = {
    "figure": ("draw the Part 1 grid of examples into figures/", figure_arguments, figure),
    "train": ("train one model and optionally write its test predictions", train_arguments,
              train),
    "experiments": ("run the report's experiments and write the prediction files",
                    experiments_arguments, experiments),
}


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m fmnist",
                     description="Fashion-MNIST from scratch in NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text,
                                     formatter_class=_HelpFormatter))
    args = parser.parse_args(argv)

    from fmnist.training import TrainingDiverged

    try:
        return int(COMMANDS[args.command][2](args) or 0)
    except (DataError, TrainingDiverged) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1 if isinstance(err, TrainingDiverged) else 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
