"""What the digits studies share: one MLP, one split, and many training runs in one program.

  runs = sweep(lambda h: (adam(h["learning_rate"]), None), {"learning_rate": rates}, budget(quick))
  runs.table      # one row per (configuration, seed): final/best curves, test accuracy
  runs.curves     # train_loss [rows, steps], val_loss / val_accuracy [rows, evaluations]

`build(hparams) -> (optimizer, penalty or None)` turns a row of traced hyperparameters into
a run of `jaxopt_lab.training.train`; `jaxopt_lab.sweep.run_sweep` vmaps it over every row and
seed, compiled once. `one_of` makes the optimizer itself a traced choice, so that several
optimizers share that one program.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxopt_lab.data import Dataset, batches_per_epoch, digits
from jaxopt_lab.losses import is_weight
from jaxopt_lab.models import MLP
from jaxopt_lab.sweep import SweepResult, run_sweep
from jaxopt_lab.training import evaluation_steps, train

WIDTHS, ACTIVATION, BATCH_SIZE = (64,), "relu", 64
MODEL = f"MLP 64-{'-'.join(map(str, WIDTHS))}-10 ({ACTIVATION}), batch {BATCH_SIZE}"


def make_model(rngs: nnx.Rngs) -> MLP:
  return MLP(64, WIDTHS, 10, ACTIVATION, rngs=rngs)


class Budget(NamedTuple):
  steps: int
  eval_every: int
  seeds: tuple

  @property
  def eval_steps(self) -> np.ndarray:
    return evaluation_steps(self.steps, self.eval_every)


def budget(quick: bool) -> Budget:
  """Quick: 300 steps (18 epochs), one seed. Full: 1500 steps (89 epochs), five seeds."""
  return Budget(300, 25, (0,)) if quick else Budget(1500, 50, (0, 1, 2, 3, 4))


def one_of(transforms: list, index) -> optax.GradientTransformationExtraArgs:
  """transforms[index] for a traced integer index, so that a vmapped sweep can treat the
  optimizer as one more hyperparameter: every candidate updates its own state from the same
  gradients, and the chosen one's updates are returned (lax.select_n; the others are unused)."""
  transforms = [optax.with_extra_args_support(t) for t in transforms]

  def init(params):
    return tuple(t.init(params) for t in transforms)

  def update(updates, state, params=None, **extra_args):
    results = [t.update(updates, s, params, **extra_args) for t, s in zip(transforms, state)]
    chosen = jax.tree.map(lambda *candidates: jax.lax.select_n(index, *candidates),
                          *[u for u, _ in results])
    return chosen, tuple(s for _, s in results)

  return optax.GradientTransformationExtraArgs(init, update)


def digits_run(build: Callable, data: Dataset, plan: Budget) -> Callable:
  """run(hparams, key) -> curves and final test metrics of one training run on `data`."""

  def run(hparams, key):
    optimizer, penalty = build(hparams)
    result = train(make_model, optimizer, data, key, steps=plan.steps, batch_size=BATCH_SIZE,
                   eval_every=plan.eval_every, penalty=penalty)
    weights = [w for w in jax.tree.leaves(result.params) if is_weight(w)]
    return {"train_loss": result.train_loss, "val_loss": result.val_loss,
            "val_accuracy": result.val_accuracy, "test_accuracy": result.test.accuracy,
            "test_loss": result.test.loss, "test_precision": result.test.precision,
            "test_recall": result.test.recall,
            "weight_norm": jnp.sqrt(sum(jnp.sum(w ** 2) for w in weights))}

  return run


def sweep(build: Callable, columns: dict, plan: Budget, quick: bool) -> SweepResult:
  """Every configuration of `columns` (name -> values) x every seed of `plan`, one program."""
  return run_sweep(digits_run(build, digits(seed=0), plan), columns, plan.seeds,
                   progress=not quick)


def smooth(curves: np.ndarray) -> np.ndarray:
  """Trailing mean over one epoch of steps (the first steps average what there is)."""
  window = batches_per_epoch(digits(seed=0).train_size, BATCH_SIZE)
  total = np.cumsum(curves, axis=-1)
  padding = [(0, 0)] * (curves.ndim - 1) + [(window, 0)]
  shifted = np.pad(total, padding)[..., :-window]
  counts = np.minimum(np.arange(1, curves.shape[-1] + 1), window)
  return (total - shifted) / counts
