"""fmnist: Fashion-MNIST with multinomial logistic regression and a one-hidden-layer network,
written from scratch in NumPy.

    >>> import fmnist
    >>> X, y = fmnist.load_train("data/train.csv")
    >>> X_tr, X_val, y_tr, y_val = fmnist.train_val_split(X, y)
    >>> model = fmnist.MLP(hidden=256, epochs=10).fit(X_tr, y_tr, X_val, y_val)
    >>> model.score(X_val, y_val)

Names are imported on first use, so `import fmnist` stays light (no matplotlib until a plot).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "CLASS_NAMES": "fmnist.data",
    "DataError": "fmnist.data",
    "load_train": "fmnist.data",
    "load_test": "fmnist.data",
    "train_val_split": "fmnist.data",
    "Standardizer": "fmnist.data",
    "one_hot": "fmnist.data",
    "LogisticRegression": "fmnist.models",
    "MLP": "fmnist.models",
    "load_model": "fmnist.models",
    "TrainingDiverged": "fmnist.training",
    "write_predictions": "fmnist.data",
    "plot_examples": "fmnist.plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fmnist' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
