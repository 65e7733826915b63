"""Hyperparameter sweeps: many training runs vmapped in one compiled program.

  space = jaxopt_lab.sweeps.space.parse_space(["learning_rate=loggrid:1e-4:1e-1:8"])  # space.py
  task = jaxopt_lab.sweeps.digits_task("adam", steps=200)          # tasks.py: built-in runs
  task = jaxopt_lab.sweeps.supervised_task(make_model, make_optimizer, data, steps=200,
                                           batch_size=32)         # supervised.py: your own
  result = jaxopt_lab.sweeps.run_sweep(task.run, jaxopt_lab.sweeps.space.configurations(space),
                                       seeds=[0, 1], objective=task.objective)   # engine.py
  board = jaxopt_lab.sweeps.leaderboard(result.table, list(space), task.objective)  # report.py
  halved = jaxopt_lab.sweeps.successive_halving(task, columns, seeds=[0], eta=3)  # halving.py

inputs.py checks what run_sweep is given before anything runs, store.py keeps a sweep's folder
(identity, verified chunks, resume, lock), objective.py says what a sweep runs (`Task`) and
chooses by, supervised.py builds a task for any nnx model and optimizer, static.py sweeps task
options (batch size, widths, ...) as one program per combination into one table, halving.py
continues only the best runs (successive halving), search.py holds the search methods (random
and quasi-random draws; Optuna's TPE in batches, each one compiled sweep: `tpe_search`), and
plots.py draws a sweep (imports matplotlib on use).
"""
import importlib

from jaxopt_lab.sweeps import search, space
from jaxopt_lab.sweeps.engine import SweepInterrupted, SweepResult, run_sweep
from jaxopt_lab.sweeps.halving import HalvingResult, successive_halving
from jaxopt_lab.sweeps.objective import Objective, Task
from jaxopt_lab.sweeps.report import Chosen, leaderboard, markdown_report, winners_curse
from jaxopt_lab.sweeps.search import TPEResult, tpe_search
from jaxopt_lab.sweeps.supervised import supervised_task
from jaxopt_lab.sweeps.tasks import digits_task, digits_training, quadratic_task

__all__ = ["run_sweep", "SweepResult", "SweepInterrupted", "Objective", "Task", "supervised_task",
           "successive_halving", "HalvingResult",
           "digits_task", "digits_training", "quadratic_task", "leaderboard", "winners_curse",
           "markdown_report", "Chosen", "space", "search", "tpe_search", "TPEResult", "plots"]


def __getattr__(name: str):
  if name == "plots":  # matplotlib is imported only by those who draw
    return importlib.import_module(f"{__name__}.plots")
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
