"""What the digits studies share: one MLP, one split, and many training runs in one program.

  runs = sweep(lambda h: (adam(h["learning_rate"]), None), {"learning_rate": rates}, budget(quick))
  runs.table      # one row per (configuration, seed): final/best curves, test accuracy
  runs.curves     # train_loss [rows, steps], val_loss / val_accuracy [rows, evaluations]

`build(hparams) -> (optimizer, penalty or None)` turns a row of traced hyperparameters into
a run of the one digits-training task (`jaxopt_lab.sweeps.tasks.digits_training`);
`run_sweep` vmaps it over every row and seed, compiled once. `jaxopt_lab.one_of` makes the
optimizer itself a traced choice, so that several optimizers share that one program.
"""
from typing import Callable, NamedTuple

import numpy as np

from jaxopt_lab.sweeps.engine import SweepResult, run_sweep
from jaxopt_lab.sweeps.tasks import digits_training
from jaxopt_lab.train.data import batches_per_epoch, digits
from jaxopt_lab.train.loop import evaluation_steps

WIDTHS, ACTIVATION, BATCH_SIZE = (64,), "relu", 64
MODEL = f"MLP 64-{'-'.join(map(str, WIDTHS))}-10 ({ACTIVATION}), batch {BATCH_SIZE}"


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


def sweep(build: Callable, columns: dict, plan: Budget, quick: bool) -> SweepResult:
  """Every configuration of `columns` (name -> values) x every seed of `plan`, one program;
  every run also reports its test metrics and weight norm."""
  task = digits_training(build, hyperparameters=tuple(columns), widths=WIDTHS,
                         activation=ACTIVATION, steps=plan.steps, batch_size=BATCH_SIZE,
                         eval_every=plan.eval_every, test_metrics=True)
  return run_sweep(task.run, columns, plan.seeds, objective=task.objective, progress=not quick)


def smooth(curves: np.ndarray) -> np.ndarray:
  """Trailing mean over one epoch of steps (the first steps average what there is)."""
  window = batches_per_epoch(digits(seed=0).train_size, BATCH_SIZE)
  total = np.cumsum(curves, axis=-1)
  padding = [(0, 0)] * (curves.ndim - 1) + [(window, 0)]
  shifted = np.pad(total, padding)[..., :-window]
  counts = np.minimum(np.arange(1, curves.shape[-1] + 1), window)
  return (total - shifted) / counts
