"""Hyperparameter sweeps: many training runs vmapped in one compiled program.

  space = jaxopt_lab.sweeps.space.parse_space(["learning_rate=loggrid:1e-4:1e-1:8"])  # space.py
  task = jaxopt_lab.sweeps.digits_task("adam", steps=200)          # tasks.py: built-in runs
  result = jaxopt_lab.sweeps.run_sweep(task.run, jaxopt_lab.sweeps.space.configurations(space),
                                       seeds=[0, 1], objective=task.objective)   # engine.py
  board = jaxopt_lab.sweeps.leaderboard(result.table, list(space), task.objective)  # report.py

inputs.py checks what run_sweep is given before anything runs, store.py keeps a sweep's folder
(identity, verified chunks, resume, lock), objective.py says what a sweep chooses by, and
plots.py draws a sweep (imports matplotlib on use).
"""
import importlib

from jaxopt_lab.sweeps import space
from jaxopt_lab.sweeps.engine import SweepInterrupted, SweepResult, run_sweep
from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import Chosen, leaderboard, markdown_report, winners_curse
from jaxopt_lab.sweeps.tasks import Task, digits_task, digits_training, quadratic_task

__all__ = ["run_sweep", "SweepResult", "SweepInterrupted", "Objective", "Task", "digits_task", "digits_training",
           "quadratic_task", "leaderboard", "winners_curse", "markdown_report", "Chosen",
           "space", "plots"]


def __getattr__(name: str):
  if name == "plots":  # matplotlib is imported only by those who draw
    return importlib.import_module(f"{__name__}.plots")
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
