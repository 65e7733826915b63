"""Reading a sweep as the lectures advise: choose on validation, test once, distrust the winner.

- `leaderboard`: one row per configuration, the validation objective's mean, spread and range
  over seeds, best first (diverged configurations last).
- `winners_curse`: the top-k configurations re-run on fresh seeds. The best of many noisy
  validation scores is biased upwards; the drop on fresh seeds measures by how much.
- `diagnose_configurations`: the lectures' training diagnosis
  (`jaxopt_lab.diagnostics.diagnosis`) of the best and the worst configurations, every seed.
- `markdown_report`: the tables above plus the chosen configuration's test score, evaluated
  for that configuration only, and the diagnosis.
"""
from typing import NamedTuple, Optional

import numpy as np
import pandas as pd

from jaxopt_lab.diagnostics.diagnosis import diagnose
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.objective import Objective


class Chosen(NamedTuple):
  """One sweep's verdict, for comparing sweeps (e.g. of several optimizers) side by side."""
  summary: dict          # a row of the comparison table: name, chosen hyperparameters, scores
  curves: dict           # the chosen configuration's curves, averaged over seeds
  board: pd.DataFrame    # the sweep's `leaderboard`


def leaderboard(table: pd.DataFrame, hyperparameters, objective: Objective) -> pd.DataFrame:
  """Per configuration: hyperparameters, mean/std/min/max of the objective over seeds,
  seeds, fraction diverged; sorted best first, diverged or NaN configurations last."""
  score = table[objective.column].where(~table.diverged)
  grouped = table.assign(score=score).groupby("config", sort=True)
  board = grouped[list(hyperparameters)].first()
  board["mean"] = grouped.score.mean()
  board["std"] = grouped.score.std(ddof=1) if table.seed.nunique() > 1 else 0.0
  board["min"], board["max"] = grouped.score.min(), grouped.score.max()
  board["seeds"] = grouped.seed.count()
  board["diverged"] = grouped.diverged.mean()
  order = ["_usable", "mean"]
  board["_usable"] = board["diverged"].eq(0) & board["mean"].notna()
  if objective.tiebreak:
    board["_tiebreak"] = grouped[objective.tiebreak].mean()
    order.append("_tiebreak")
  board = board.sort_values(order, ascending=[False, not objective.maximize, True][:len(order)],
                            kind="stable")
  return board.drop(columns=["_usable", "_tiebreak"], errors="ignore").reset_index()


def winners_curse(run, board: pd.DataFrame, hyperparameters, objective: Objective,
                  top_k: int, fresh_seeds, **sweep_options) -> pd.DataFrame:
  """The top_k configurations of `board` re-run on `fresh_seeds` (never used in the sweep)."""
  top = board.head(top_k)
  columns = {name: top[name].to_numpy() for name in hyperparameters}
  fresh = run_sweep(run, columns, fresh_seeds, objective=objective, **sweep_options)
  refreshed = fresh.table.groupby("config")[objective.column].mean().to_numpy()
  out = top[["config", *hyperparameters, "mean"]].rename(columns={"mean": "sweep_mean"})
  out["fresh_mean"] = refreshed
  sign = 1 if objective.maximize else -1
  out["drop"] = sign * (out["sweep_mean"] - out["fresh_mean"])
  out["rank_on_fresh_seeds"] = (-sign * out["fresh_mean"]).rank(method="min").astype(int)
  return out.reset_index(drop=True)


def diagnose_configurations(table: pd.DataFrame, curves: dict, board: pd.DataFrame,
                            hyperparameters, eval_steps, top: int = 3) -> pd.DataFrame:
  """The diagnosis of the `top` best and `top` worst configurations of `board` (every one
  when there are at most 2 x top): one row each with its rank, config, hyperparameters and
  findings. Every seed is diagnosed (`curves`: name -> [rows of `table`, length]); each
  finding is counted over the seeds, with the evidence of the first seed that shows it
  ("none" when no seed shows any)."""
  ranks = list(range(len(board)))
  shown = ranks if len(board) <= 2 * top else ranks[:top] + ranks[-top:]
  rows = []
  for rank in shown:
    entry = board.iloc[rank]
    runs = table.index[table.config == entry.config]
    seen = {}
    for row in runs:
      stopped = table.at[row, "stopped_step"] if "stopped_step" in table else None
      found = diagnose({name: curve[row] for name, curve in curves.items()}, eval_steps,
                       stopped_step=None if stopped is None else int(stopped))
      for finding in found:
        count, evidence = seen.get(finding.name, (0, finding.evidence))
        seen[finding.name] = (count + 1, evidence)
    text = "; ".join(f"{name} ({count}/{len(runs)} seeds): {evidence}"
                     for name, (count, evidence) in seen.items()) or "none"
    rows.append({"rank": rank + 1, "config": entry.config,
                 **{name: entry[name] for name in hyperparameters}, "findings": text})
  return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
  """`frame` as a markdown table, floats to `digits` significant digits."""
  def cell(value):
    if isinstance(value, (float, np.floating)):
      return "–" if np.isnan(value) else f"{value:.{digits}g}"
    return str(value)
  header = "| " + " | ".join(frame.columns) + " |"
  rule = "|" + "|".join("---" for _ in frame.columns) + "|"
  rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
  return "\n".join([header, rule, *rows])


def markdown_report(title: str, board: pd.DataFrame, objective: Objective, *,
                    curse: Optional[pd.DataFrame] = None, test: Optional[dict] = None,
                    facts: Optional[dict] = None, diagnosis: Optional[pd.DataFrame] = None,
                    top: int = 10) -> str:
  lines = [f"# {title}", ""]
  for name, value in (facts or {}).items():
    lines.append(f"- {name}: {value}")
  lines += ["", f"## Best configurations by validation: {objective.describe()}",
            "Mean, spread (std) and range over seeds; diverged = fraction of seeds whose loss "
            "went NaN/Inf.", "", markdown_table(board.head(top))]
  diverged = int((board["diverged"] > 0).sum())
  lines += ["", f"{diverged} of {len(board)} configurations diverged on at least one seed."]
  if test:
    lines += ["", "## Chosen configuration on the test set (evaluated once, for it only)", ""]
    lines += [f"- {name}: {value:.4g}" if isinstance(value, float) else f"- {name}: {value}"
              for name, value in test.items()]
  if curse is not None:
    winner = curse.iloc[0]
    lines += ["", "## Winner's curse: the top configurations re-run on fresh seeds", "",
              markdown_table(curse), "",
              f"The sweep's winner scored {winner.sweep_mean:.4g} on its own seeds and "
              f"{winner.fresh_mean:.4g} on fresh ones (drop {winner['drop']:.3g}); on fresh "
              f"seeds it ranks {int(winner.rank_on_fresh_seeds)} of {len(curse)}."]
  if diagnosis is not None:
    lines += ["", "## Training diagnosis of the top and bottom configurations", "",
              "The lectures' rules read from each seed's curves (learning rate too high or too "
              "low, underfitting, overfitting, update/weight ratio far from 1e-3, dead ReLUs); "
              "`jaxopt-lab diagnose` prints the same.", "", markdown_table(diagnosis)]
  return "\n".join(lines) + "\n"
