"""What a sweep runs and chooses by: a `Task` (its run, in one piece and resumable) and its
`Objective`."""
from typing import Callable, NamedTuple, Optional

import numpy as np


class Objective(NamedTuple):
  """The table column a sweep ranks configurations by, and the roles of the run's curves.

    Objective("best_val_accuracy", maximize=True, tiebreak="best_val_loss",
              maximized_curves=("val_accuracy",), divergence_curves=("train_loss", "val_loss"))
  """
  column: str                     # a column of the sweep table, e.g. "best_val_accuracy"
  maximize: bool
  tiebreak: Optional[str] = None  # a column to minimise among equal scores, e.g. a loss
  maximized_curves: tuple = ()    # curves whose best is their largest value (accuracies)
  divergence_curves: tuple = ("train_loss",)  # a NaN/Inf in one of these flags a diverged run

  def describe(self) -> str:
    return f"{self.column} ({'higher' if self.maximize else 'lower'} is better)"


class Task(NamedTuple):
  """A sweep's training run and what to choose it by.

  `run(hparams, key) -> metrics` is what `run_sweep` vmaps: `hparams` maps each swept name to
  a scalar (float32, a tracer under vmap), `key` is a typed PRNG key, and `metrics` maps names
  to arrays: 1-D curves [steps] or [evaluations], and scalars. A resumable task also gives
  `init(hparams, key) -> state` and `advance(state, hparams, start, count) -> (state, curves)`
  (steps start .. start + count - 1, `start` never batched) with run's curves equal to
  init then advance(0, steps): what `successive_halving` continues from.
  """
  name: str
  run: Callable                 # (hparams: name -> scalar, key) -> metrics
  objective: Objective
  hyperparameters: tuple        # names the run accepts
  test: Optional[Callable]      # (hparams: name -> float, seeds) -> test metrics, or None
  eval_steps: Optional[np.ndarray] = None  # steps at which the validation curves are taken
  check_value: Optional[Callable] = None   # (name, concrete value) -> None or ValueError,
                                           # for names other than the optimizer's
  init: Optional[Callable] = None      # (hparams, key) -> state before step 0
  advance: Optional[Callable] = None   # (state, hparams, start, count) -> (state, curves)
  steps: Optional[int] = None          # steps of a whole run
