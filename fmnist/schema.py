"""What the exercise's files hold, and the one exception the user is meant to see.

Re-exported by `fmnist.data` (`fmnist.data.DataError` is this class); it lives in a module of
its own so that the file-reading modules (`csvfile`, `provenance`, `deliverables`) and
`data` can all use it without importing each other.
"""

from __future__ import annotations

N_PIXELS = 784
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


class DataError(ValueError):
    """A problem with an input file that the user can fix; the message says where and what to do."""
