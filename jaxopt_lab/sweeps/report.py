"""Reading a sweep as the lectures advise: choose on validation, test once, distrust the winner.

- `leaderboard`: one row per configuration, the validation objective's mean, spread and range
  over seeds, best first (diverged configurations last).
- `winners_curse`: the top-k configurations re-run on fresh seeds. The best of many noisy
  validation scores is biased upwards; the drop on fresh seeds measures by how much.
- `diagnose_configurations`: the lectures' training diagnosis
  (`jaxopt_lab.diagnostics.diagnosis`) of the best and the worst configurations, every seed.
- `checks`: the Tuning Playbook's (Godbole et al. 2023) questions about a winner: does it lie
  at the edge of a searched range (the best may lie beyond), and is it distinguishable from the
  runner-up given the spread over seeds?
- `markdown_report`: the tables above plus the chosen configuration's test score, evaluated
  for that configuration only, the checks, the diagnosis and links to the figures.
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
  refreshed = fresh.table.groupby("config")[objective.column]
  out = top[["config", *hyperparameters, "mean"]].rename(columns={"mean": "sweep_mean"})
  out["fresh_mean"] = refreshed.mean().to_numpy()
  out["fresh_std"] = refreshed.std(ddof=1).to_numpy() if len(fresh_seeds) > 1 else np.nan
  sign = 1 if objective.maximize else -1
  out["drop"] = sign * (out["sweep_mean"] - out["fresh_mean"])
  out["rank_on_fresh_seeds"] = (-sign * out["fresh_mean"]).rank(method="min").astype(int)
  return out.reset_index(drop=True)


EDGE = 0.1  # the outer fraction of a searched range (log-spaced when it spans decades)


def checks(board: pd.DataFrame, hyperparameters, objective: Objective) -> list[str]:
  """One sentence per doubt about the chosen configuration (the board's first row):

  - a hyperparameter of at least 3 values tried whose chosen value lies in the outer EDGE of
    the range tried (measured in log space when the values are positive and span more than a
    factor 10): the best may lie outside, so the range should be extended that way;
  - whether the winner's mean differs from the runner-up's by more than twice the standard
    error of the difference (Welch: sqrt(s1^2/n1 + s2^2/n2), std over seeds), and that it
    cannot be told with one seed."""
  usable = board[(board["diverged"] == 0) & board["mean"].notna()]
  if usable.empty:
    return ["no configuration finished on every seed without diverging: nothing was chosen"]
  winner, found = usable.iloc[0], []
  for name in hyperparameters:
    tried = np.unique(board[name].to_numpy(np.float64))
    if len(tried) < 3:
      continue
    low, high, value = tried[0], tried[-1], float(winner[name])
    where = _position(value, tried)
    if where <= EDGE and low != 0 or where >= 1 - EDGE:  # 0 tried: nothing lies below
      side = "bottom" if where <= EDGE else "top"
      found.append(f"{name} = {value:.4g} was chosen at the {side} of the range searched "
                   f"[{low:.4g}, {high:.4g}]: the best value may lie beyond it; extend the "
                   f"range {'down' if side == 'bottom' else 'up'}wards and sweep again.")
  if len(usable) > 1:
    first, second = usable.iloc[0], usable.iloc[1]
    gap = abs(first["mean"] - second["mean"])
    if min(first["seeds"], second["seeds"]) < 2:
      found.append(f"The winner ({first['mean']:.4g}) and the runner-up ({second['mean']:.4g}) "
                   f"differ by {gap:.3g}, but with one seed each their spread is unknown: "
                   "whether the winner is better cannot be told (sweep more seeds).")
    else:
      error = float(np.sqrt(first["std"] ** 2 / first["seeds"] +
                            second["std"] ** 2 / second["seeds"]))
      verdict = ("distinguishable: more than" if gap > 2 * error else
                 "NOT distinguishable: no more than")
      found.append(f"The winner ({first['mean']:.4g} ± {first['std']:.2g}) and the runner-up "
                   f"({second['mean']:.4g} ± {second['std']:.2g}, std over seeds) differ by "
                   f"{gap:.3g}: {verdict} twice the standard error of the difference "
                   f"({error:.2g}).")
  return found


def _position(value: float, tried: np.ndarray) -> float:
  """Where `value` lies in the range of the sorted values `tried`, from 0 to 1: in log space
  when the positive values span more than a factor 10 (a 0 tried sits at 0, as on a symlog
  axis), linearly otherwise."""
  positive = tried[tried > 0]
  if tried[0] >= 0 and len(positive) > 1 and positive[-1] / positive[0] > 10:
    if value <= 0:
      return 0.0
    return float(np.log(value / positive[0]) / np.log(positive[-1] / positive[0]))
  return float((value - tried[0]) / (tried[-1] - tried[0]))


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
                    hyperparameters=(), figures: Optional[dict] = None, top: int = 10) -> str:
  """The report: facts, the leaderboard's `top` rows, the `checks` of the winner (over
  `hyperparameters`), its test score, the winner's curse, the diagnosis, and `figures`
  (caption -> file name, relative to the report) linked at the end."""
  lines = [f"# {title}", ""]
  for name, value in (facts or {}).items():
    lines.append(f"- {name}: {value}")
  lines += ["", f"## Best configurations by validation: {objective.describe()}",
            "Mean, spread (std) and range over seeds; diverged = fraction of seeds whose loss "
            "went NaN/Inf.", "", markdown_table(board.head(top))]
  diverged = int((board["diverged"] > 0).sum())
  lines += ["", f"{diverged} of {len(board)} configurations diverged on at least one seed."]
  doubts = checks(board, hyperparameters, objective)
  if doubts:
    lines += ["", "## Checks of the chosen configuration (Tuning Playbook)", ""]
    lines += [f"- {'**Warning**: ' if ' range searched ' in doubt else ''}{doubt}"
              for doubt in doubts]
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
  if figures:
    lines += ["", "## Figures", ""]
    lines += [f"- [{caption}]({path})" for caption, path in figures.items()]
  return "\n".join(lines) + "\n"
