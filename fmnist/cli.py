"""`python -m fmnist COMMAND ...`: one entry point; each command lives in the module it drives.

A command module provides `add_arguments(parser)` and `run(args) -> int`. Errors the user can
fix (bad data files, diverging training) end with one clear message and exit status 2 or 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help)
COMMANDS = {
    "data": ("fmnist.build", "build or validate data/train.csv and data/test.csv"),
    "figure": ("fmnist.plots", "draw the Part 1 grid of examples into figures/"),
    "train": ("fmnist.training", "train one model and optionally write its test predictions"),
    "experiments": ("fmnist.experiments", "run the report's sweeps and the best models"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fmnist",
        description="Fashion-MNIST from scratch in NumPy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:  # a command whose module is missing is reported, not fatal
            p.set_defaults(_missing=f"{module_name}: {err}")
            continue
        module.add_arguments(p)
        modules[name] = module
    args = parser.parse_args(argv)
    if getattr(args, "_missing", None):
        print(f"error: command {args.command!r} is unavailable ({args._missing})", file=sys.stderr)
        return 1

    from fmnist.data import DataError
    from fmnist.training import TrainingDiverged

    try:
        return int(modules[args.command].run(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
