"""Datasets and minibatches: sklearn's digits (offline), synthetic 2-D sets, per-epoch shuffling.

  data = digits(seed=0)                 # 8x8 digits, standardised, train/val/test = 60/20/20
  index, weight = minibatch(key, step, data.train_size, batch_size=64)
  x, y = data.x_train[index], data.y_train[index]

Minibatches follow the lectures: each epoch shuffles the training set with a PRNG key and
takes consecutive batches. `minibatch` is a pure function of (key, step), so a `lax.scan`
over steps draws them with no host round trip, and the same key gives the same batches.
scikit-learn is imported where it is used, so `import jaxopt_lab` does not pay its second.
"""
import functools
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import POSITIVE, PROBABILITY, Interval, check, check_int

COUNT = Interval(1, np.inf)


class Dataset(NamedTuple):
  """A classification set split three ways; x float32 [n, features], y int32 [n].

  Image sets give `image_shape` (height, width), with features = height * width in row-major
  order, and the per-feature `mean` and `std` [features] they were standardised with, so that
  augmentation can work on pixels: pixels = x * std + mean.
  """
  name: str
  x_train: jax.Array
  y_train: jax.Array
  x_val: jax.Array
  y_val: jax.Array
  x_test: jax.Array
  y_test: jax.Array
  num_classes: int
  image_shape: Optional[tuple] = None
  mean: Optional[jax.Array] = None
  std: Optional[jax.Array] = None

  @property
  def num_features(self) -> int:
    return int(self.x_train.shape[1])

  @property
  def train_size(self) -> int:
    return int(self.x_train.shape[0])


def split(name: str, x: np.ndarray, y: np.ndarray, seed: int, val_fraction: float = 0.2,
          test_fraction: float = 0.2, standardise: bool = True,
          image_shape: Optional[tuple] = None) -> Dataset:
  """Stratified train/validation/test split with a fixed seed; features standardised with
  the training set's mean and standard deviation only (constant features are left centred).
  `image_shape` (height, width) marks x [n, height * width] as row-major images."""
  check("split", val_fraction=(val_fraction, PROBABILITY),
        test_fraction=(test_fraction, PROBABILITY))
  if not val_fraction + test_fraction < 1:
    raise ValueError(f"split(val_fraction={val_fraction}, test_fraction={test_fraction}): "
                     f"test_fraction must be in [0, {1 - val_fraction:g}) so that some "
                     f"training data is left, got {test_fraction}")
  from sklearn.model_selection import train_test_split
  x_rest, x_test, y_rest, y_test = train_test_split(
      x, y, test_size=test_fraction, random_state=seed, stratify=y)
  x_train, x_val, y_train, y_val = train_test_split(
      x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), random_state=seed,
      stratify=y_rest)
  mean, std = np.zeros(x.shape[1]), np.ones(x.shape[1])
  if standardise:
    mean, std = x_train.mean(0), x_train.std(0)
    std = np.where(std > 0, std, 1.0)
    x_train, x_val, x_test = ((a - mean) / std for a in (x_train, x_val, x_test))
  as_x = lambda a: jnp.asarray(a, jnp.float32)
  as_y = lambda a: jnp.asarray(a, jnp.int32)
  return Dataset(name, as_x(x_train), as_y(y_train), as_x(x_val), as_y(y_val), as_x(x_test),
                 as_y(y_test), int(np.max(y)) + 1, image_shape, as_x(mean), as_x(std))


@functools.cache
def digits(seed: int = 0) -> Dataset:
  """sklearn's 1797 handwritten digits (8x8 = 64 features, 10 classes), shipped offline:
  1077 train / 360 validation / 360 test, stratified, standardised on the training set.
  Loaded and split once per seed (the Dataset is immutable), however many studies ask."""
  from sklearn.datasets import load_digits
  bunch = load_digits()
  return split("digits", bunch.data, bunch.target, seed, image_shape=(8, 8))


def training_subset(data: Dataset, size: int) -> Dataset:
  """`data` with its training set cut to its first `size` examples (the split is shuffled and
  stratified, so they are a random sample of every class); validation and test sets, and the
  standardisation, unchanged. A small training set makes overfitting plain."""
  check_int("training_subset", size=(size, Interval(1, data.train_size, True, True)))
  return data._replace(name=f"{data.name}[:{size}]", x_train=data.x_train[:size],
                       y_train=data.y_train[:size])


def blobs(n: int = 300, num_classes: int = 3, spread: float = 1.0, seed: int = 0) -> Dataset:
  """Gaussian blobs in 2-D: class k centred on a circle of radius 3, standard deviation `spread`."""
  check_int("blobs", n=(n, COUNT), num_classes=(num_classes, Interval(2, np.inf)))
  check("blobs", spread=(spread, POSITIVE))
  rng = np.random.default_rng(seed)
  y = np.arange(n) % num_classes
  angles = 2 * np.pi * np.arange(num_classes) / num_classes
  centres = 3 * np.stack([np.cos(angles), np.sin(angles)], 1)
  x = centres[y] + spread * rng.normal(size=(n, 2))
  return split("blobs", x, y, seed, standardise=False)


def spirals(n: int = 300, num_classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
  """The lectures' interleaved spirals: class k winds out from the origin, rotated by 2 pi k / K;
  not linearly separable, so a linear classifier fails where an MLP succeeds."""
  check_int("spirals", n=(n, COUNT), num_classes=(num_classes, Interval(2, np.inf)))
  check("spirals", noise=(noise, Interval(0, np.inf)))
  rng = np.random.default_rng(seed)
  y = np.arange(n) % num_classes
  radius = rng.uniform(0.05, 1.0, n)
  theta = 4 * radius + 2 * np.pi * y / num_classes + noise * rng.normal(size=n)
  x = np.stack([radius * np.sin(theta), radius * np.cos(theta)], 1)
  return split("spirals", x, y, seed, standardise=False)


def batches_per_epoch(size: int, batch_size: int, drop_last: bool = False) -> int:
  """Batches in one pass over `size` examples: floor if the short last batch is dropped."""
  return size // batch_size if drop_last else -(-size // batch_size)


def minibatch(key: jax.Array, step, size: int, batch_size: int, drop_last: bool = False):
  """The batch of global `step`: (indices int32 [batch_size], weights float32 [batch_size]).

  Epoch e = step // batches_per_epoch shuffles range(size) with fold_in(key, e); batch b of
  the epoch takes positions [b * batch_size, (b + 1) * batch_size). The last batch of an epoch
  may be short: its missing slots repeat valid indices with weight 0, so shapes stay static
  under jit and a weighted mean over the batch is the mean over the short batch. With
  `drop_last`, those leftover examples are skipped for this epoch and every weight is 1.
  """
  check_int("minibatch", size=(size, COUNT), batch_size=(batch_size, Interval(1, size, True, True)))
  per_epoch = batches_per_epoch(size, batch_size, drop_last)
  epoch, batch = jnp.divmod(jnp.asarray(step, jnp.int32), per_epoch)
  return take_batch(epoch_order(key, epoch, size), batch, batch_size)


def epoch_order(key: jax.Array, epoch, size: int) -> jax.Array:
  """The shuffled order of range(size) in `epoch`: permutation(fold_in(key, epoch)).

  A training loop may compute it once per epoch and call `take_batch` for every step,
  which gives the same batches as `minibatch` at a fraction of the cost.
  """
  return jax.random.permutation(jax.random.fold_in(key, epoch), size)


def take_batch(order: jax.Array, batch, batch_size: int):
  """Batch `batch` of an epoch shuffled as `order` (see `minibatch`): (indices, weights)."""
  size = order.shape[0]
  positions = batch * batch_size + jnp.arange(batch_size)
  valid = positions < size
  index = order[jnp.where(valid, positions, positions % size)]
  return index.astype(jnp.int32), valid.astype(jnp.float32)
