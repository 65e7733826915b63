"""The regularizers a training step applies to its minibatch, bundled for `train`.

  regularization = Regularization(dropout=0.3, max_shift=1, mixup=0.2)
  result = train(make_model, adam(1e-3), digits(), key, steps=500, batch_size=64,
                 regularization=regularization)

Each field is None (off: not part of the compiled program) or a strength: a Python number,
an array or a tracer, so one vmapped sweep covers many strengths; 0 is the same as off, up
to float rounding (augmented images go to pixels and back) and the cost of drawing the
random numbers. A `Regularization` is a pytree of its strengths (`jax.jit` traces them
too); `Regularization.from_hparams` reads the fields a row of swept hyperparameters names.
Every step draws its own key; `regularize_batch` turns the minibatch (x, labels) into what
the step trains on:

  1. augmentation (`jaxopt_lab.train.augment`), on pixels: images = x * std + mean, reshaped
     to (batch, height, width) by the dataset's `image_shape`, then standardised back;
  2. label smoothing and mixup (`jaxopt_lab.train.soft_targets`), which make the targets
     probabilities [batch, classes] (the loss must then be softmax cross-entropy);

and dropout (`jaxopt_lab.train.dropout`) acts inside the model, which must accept
`model(x, dropout_rate=rate, key=key)` (as `jaxopt_lab.train.models.MLP` does). Penalties
(`losses.l1`, `l2`, `elastic_net`) and decoupled weight decay (`add_decayed_weights`) are
`train`'s `penalty` and the optimizer's business, and early stopping is `train`'s
`early_stopping`.
"""
import inspect
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_lab._validation import NONNEGATIVE, PROBABILITY, UNIT, Interval, check, check_int
from jaxopt_lab.train.augment import augment
from jaxopt_lab.train.data import Dataset
from jaxopt_lab.train.soft_targets import mixup, smooth_labels

AUGMENTATIONS = ("max_shift", "max_degrees", "cutout_size", "cutout_count", "flip")


class Regularization(NamedTuple):
  """Strengths of the per-step regularizers; None leaves one out of the program."""
  dropout: Any = None          # probability that a hidden unit is zeroed, in [0, 1)
  label_smoothing: Any = None  # epsilon in [0, 1]: target mass spread over the classes
  mixup: Any = None            # alpha in [0, inf) of lam ~ Beta(alpha, alpha)
  max_shift: Any = None        # random translation by up to this many pixels
  max_degrees: Any = None      # random rotation by up to this many degrees, in [0, 180]
  cutout_size: Any = None      # side in pixels of the squares cut out, in [0, min(h, w)]
  cutout_count: Any = None     # squares cut out per image (default 1 with cutout_size)
  flip: Any = None             # probability of mirroring an image left-right, in [0, 1]

  @classmethod
  def from_hparams(cls, hparams: dict) -> "Regularization":
    """The fields that `hparams` (a row of swept hyperparameters) names; the rest None."""
    return cls(**{name: hparams[name] for name in cls._fields if name in hparams})

  @property
  def augments(self) -> bool:
    return any(getattr(self, name) is not None for name in AUGMENTATIONS)

  @property
  def soft_targets(self) -> bool:
    return self.label_smoothing is not None or self.mixup is not None

  def check(self, data: Dataset, call: str = "Regularization") -> None:
    """One ValueError naming `call`, the field, its value and the valid range for any concrete
    strength out of range, or any augmentation asked of a dataset that holds no images."""
    given = {name: value for name, value in self._asdict().items() if value is not None}
    asked = [name for name in AUGMENTATIONS if name in given]
    if asked and data.image_shape is None:
      name = asked[0]
      raise ValueError(f"{call}({name}={given[name]!r}): {name} must be None for "
                       f"{data.name!r}, which holds no images ({data.num_features} features, "
                       f"no image_shape), got {given[name]!r}")
    side = min(data.image_shape) if asked else math.inf
    ranges = {"dropout": UNIT, "label_smoothing": PROBABILITY, "mixup": NONNEGATIVE,
              "max_shift": Interval(0, side - 1, True, True),
              "max_degrees": Interval(0, 180, True, True),
              "cutout_size": Interval(0, side, True, True), "flip": PROBABILITY}
    check(call, **{name: (value, ranges[name]) for name, value in given.items()
                   if name != "cutout_count"})
    if "cutout_count" in given:
      check_int(call, cutout_count=(given["cutout_count"], Interval(0, math.inf)))


def accepts_dropout(model) -> bool:
  """Whether `model(x, dropout_rate=..., key=...)` is a valid call."""
  parameters = inspect.signature(model.__call__).parameters
  return {"dropout_rate", "key"} <= set(parameters)


def regularize_batch(regularization: Regularization, data: Dataset, x: jax.Array,
                     labels: jax.Array, key: jax.Array):
  """(x, targets) to train on: x [batch, features] augmented, targets the int labels [batch]
  or, with label smoothing or mixup, probabilities [batch, classes]. Dropout is not applied
  here (it acts inside the model)."""
  augment_key, mixup_key = jax.random.split(key)
  if regularization.augments:
    mean = 0.0 if data.mean is None else data.mean   # a dataset of raw pixels has neither
    std = 1.0 if data.std is None else data.std
    pixels = (x * std + mean).reshape(x.shape[0], *data.image_shape)
    count = regularization.cutout_count
    pixels = augment(pixels, augment_key, max_shift=regularization.max_shift,
                     max_degrees=regularization.max_degrees,
                     cutout_size=regularization.cutout_size,
                     cutout_count=1 if count is None else count, flip=regularization.flip)
    x = (pixels.reshape(x.shape) - mean) / std
  if not regularization.soft_targets:
    return x, labels
  targets = jax.nn.one_hot(labels, data.num_classes, dtype=x.dtype)
  if regularization.label_smoothing is not None:
    targets = smooth_labels(targets, regularization.label_smoothing)
  if regularization.mixup is not None:
    x, targets = mixup(x, targets, mixup_key, regularization.mixup)
  return x, targets
