"""Search methods: how a sweep chooses the configurations it runs.

- "random" and "quasi-random" draw every point up front (`space.configurations`) and run them
  as one sweep; quasi-random points (scrambled Sobol) cover the space more evenly.
- "tpe" is model-based: Optuna's Tree-structured Parzen Estimator (Bergstra et al. 2011)
  proposes a batch of configurations from the results so far (batch ask/tell, with Optuna's
  constant liar so that one batch spreads out), the batch runs as ONE vmapped program
  (`run_sweep` on its columns), the mean objective over seeds of each configuration is told
  back, and the next batch is asked. Every batch has the same shape, so the program is
  compiled once (a last, smaller batch, when batch_size does not divide the trials, once
  more). Optuna is an optional install: `pip install 'jaxopt_lab[optuna]'`.

  result = tpe_search(task.run, space, seeds=[0], objective=task.objective, batch_size=16)
  result.table   # run_sweep's table for every batch, `batch` and `config` (trial number)

A TPE search is reproducible from its `seed` (Optuna's sampler seed) and resumable with `out`:
batch i is stored under out/batch-i as a sweep folder, and a rerun proposes the same batches
(the sampler is deterministic given the values told), so it loads them instead of running.
"""
import contextlib
import warnings
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from jaxopt_lab.sweeps import space as search_space
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.objective import Objective

SEARCHES = ("random", "quasi-random", "tpe")
"""Every search method: the first two draw the random axes up front, "tpe" in batches."""
INSTALL = "pip install 'jaxopt_lab[optuna]'"


class TPEResult(NamedTuple):
  table: pd.DataFrame   # one row per (configuration, seed), with its `batch`
  curves: dict          # curve name -> [rows, length], rows in the table's order
  seconds: float        # wall time of the batches computed in this call


def require_optuna(option: str):
  """The optuna module, or a one-line ValueError naming `option` and the install command."""
  try:
    import optuna
  except ImportError:
    raise ValueError(f"{option}: needs Optuna, which is not installed; install it with "
                     f"{INSTALL} (or pip install optuna), or choose "
                     f"{' or '.join(s for s in SEARCHES if s != 'tpe')}") from None
  return optuna


def distributions(space: dict, optuna) -> dict:
  """Each axis as an Optuna distribution: uniform and log-uniform axes as floats (log=True
  for the latter), grids and choices as categorical."""
  made = {}
  for name, axis in space.items():
    if isinstance(axis, (search_space.Uniform, search_space.LogUniform)):
      made[name] = optuna.distributions.FloatDistribution(
          axis.low, axis.high, log=isinstance(axis, search_space.LogUniform))
    else:
      made[name] = optuna.distributions.CategoricalDistribution(axis.values)
  return made


def tpe_search(run: Callable, space: dict, seeds: Sequence[int], objective: Objective, *,
               batch_size: int, trials: Optional[int] = None, seed: int = 0,
               out: Optional[Path] = None, option: str = "tpe_search",
               **sweep_options) -> TPEResult:
  """`trials` configurations (default: `space.size(space)`, the budget a random search of the
  same space spends) proposed by Optuna's TPE in batches of `batch_size`, each batch one
  `run_sweep` of `run` over `seeds` (`sweep_options` are run_sweep's). The value told for a
  configuration is the mean of `objective.column` over its seeds; a configuration diverged
  on any seed is told as pruned, which TPE ranks below every completed one (so it learns to
  avoid where runs diverge; a failed trial would be ignored). `option` names the call or CLI
  option in errors.
  """
  optuna = require_optuna(option)
  total = search_space.size(space) if trials is None else trials
  for name, value in (("batch_size", batch_size), ("trials", total)):
    if not isinstance(value, (int, np.integer)) or value < 1:
      raise ValueError(f"tpe_search({name}={value!r}): {name} must be an integer in [1, inf), "
                       f"got {value!r}")
  names = list(space)
  direction = "maximize" if objective.maximize else "minimize"
  with _quiet(optuna):
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                         n_startup_trials=min(batch_size, total))
    study = optuna.create_study(direction=direction, sampler=sampler)
    made = distributions(space, optuna)
    tables, curves, seconds, start = [], [], 0.0, 0
    for batch in range(-(-total // batch_size)):
      asked = [study.ask(made) for _ in range(min(batch_size, total - start))]
      columns = {name: np.array([t.params[name] for t in asked], np.float64) for name in names}
      where = None if out is None else Path(out) / f"batch-{batch}"
      result = run_sweep(run, columns, seeds, objective=objective, out=where,
                         description=f"tpe batch {batch}", **sweep_options)
      for trial, value in zip(asked, _told(result.table, objective)):
        if np.isfinite(value):
          study.tell(trial, float(value))
        else:
          study.tell(trial, state=optuna.trial.TrialState.PRUNED)
      table = result.table.assign(batch=batch)
      table["config"] += start
      tables.append(table)
      curves.append(result.curves)
      seconds += result.seconds
      start += len(asked)
  table = pd.concat(tables, ignore_index=True)
  return TPEResult(table, {k: np.concatenate([c[k] for c in curves]) for k in curves[0]},
                      seconds)


def _told(table: pd.DataFrame, objective: Objective) -> np.ndarray:
  """Per configuration (in order): the objective's mean over seeds, NaN if any seed diverged."""
  score = table[objective.column].where(~table.diverged)
  grouped = score.groupby(table.config, sort=True)
  return np.where(grouped.count() == grouped.size(), grouped.mean(), np.nan)


@contextlib.contextmanager
def _quiet(optuna):
  """Optuna without its per-trial log lines and its warnings that batch ask/tell and the
  multivariate TPE are experimental features."""
  verbosity = optuna.logging.get_verbosity()
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
      yield
  finally:
    optuna.logging.set_verbosity(verbosity)
