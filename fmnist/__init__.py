"""fmnist: Fashion-MNIST with multinomial logistic regression and a one-hidden-layer network,
written from scratch in NumPy.

    >>> import fmnist
    >>> X, y = fmnist.load_train("data/train.csv")
    >>> X_tr, X_val, y_tr, y_val = fmnist.train_val_split(X, y)
    >>> model = fmnist.MLP(hidden=256, epochs=10).fit(X_tr, y_tr, X_val, y_val)
    >>> model.score(X_val, y_val)

`import fmnist` loads NumPy and pandas only; Matplotlib waits for the first plot.
"""

from fmnist.data import (
    CLASS_NAMES,
    DataError,
    Standardizer,
    load_test,
    load_train,
    one_hot,
    train_val_split,
    write_predictions,
)
from fmnist.models import MLP, LogisticRegression, load_model
from fmnist.training import TrainingDiverged

__version__ = "0.1.0"
__all__ = ["CLASS_NAMES", "DataError", "LogisticRegression", "MLP", "Standardizer",
           "TrainingDiverged", "load_model", "load_test", "load_train", "one_hot",
           "plot_examples", "train_val_split", "write_predictions"]


def plot_examples(*args, **kwargs):
    """`fmnist.plots.plot_examples`, the Part 1 grid (imports Matplotlib on first use)."""
    from fmnist.plots import plot_examples as plot

    return plot(*args, **kwargs)
