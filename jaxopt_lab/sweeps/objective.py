"""What a sweep chooses by, and how its curves read: a task's `Objective`."""
from typing import NamedTuple, Optional


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
