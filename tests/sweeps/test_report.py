"""The report's checks of a winner (Tuning Playbook): the edge of a searched range, and whether
the winner is distinguishable from the runner-up given the spread over seeds."""
import numpy as np
import pandas as pd
import pytest

from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import checks, leaderboard, markdown_report

ACCURACY = Objective("best_val_accuracy", maximize=True)


def table(scores: dict, seeds: int = 3, noise: float = 0.0) -> pd.DataFrame:
  """One configuration per (learning_rate, weight_decay) key of `scores`, `seeds` seeds, the
  seed's noise alternating in sign."""
  rows = []
  for config, ((lr, wd), score) in enumerate(scores.items()):
    for seed in range(seeds):
      rows.append({"learning_rate": lr, "weight_decay": wd, "config": config, "seed": seed,
                   "diverged": False,
                   "best_val_accuracy": score + noise * (seed - (seeds - 1) / 2)})
  return pd.DataFrame(rows)


def board_of(scores, **options):
  return leaderboard(table(scores, **options), ["learning_rate", "weight_decay"], ACCURACY)


@pytest.mark.parametrize("best, words", [
    (1e-1, "learning_rate = 0.1 was chosen at the top of the range searched [0.0001, 0.1]"),
    (1e-4, "learning_rate = 0.0001 was chosen at the bottom of the range searched"),
    (1e-2, None)])
def test_a_winner_at_the_edge_of_a_range_is_a_warning(best, words):
  scores = {(lr, 0.0): 0.9 - 0.1 * abs(np.log10(lr / best)) for lr in [1e-4, 1e-3, 1e-2, 1e-1]}
  found = " ".join(checks(board_of(scores), ["learning_rate", "weight_decay"], ACCURACY))
  if words:
    assert words in found and "extend the range" in found
  else:
    assert "was chosen at the" not in found


def test_zero_at_the_bottom_of_a_range_needs_no_extension_but_its_top_does():
  scores = {(1e-2, wd): 0.9 - s for wd, s in [(0.0, 0.0), (1e-4, 0.01), (1e-3, 0.02)]}
  assert not any("weight_decay" in line for line in checks(board_of(scores),
                                                           ["weight_decay"], ACCURACY))
  scores = {(1e-2, wd): 0.9 - s for wd, s in [(0.0, 0.02), (1e-4, 0.01), (1e-3, 0.0)]}
  (edge,) = [line for line in checks(board_of(scores), ["weight_decay"], ACCURACY)
             if "weight_decay" in line]
  assert "weight_decay = 0.001 was chosen at the top" in edge


def test_winner_and_runner_up_within_the_seed_spread_are_not_distinguishable():
  close = {(1e-3, 0.0): 0.950, (1e-2, 0.0): 0.955, (1e-1, 0.0): 0.5}
  (line,) = [line for line in checks(board_of(close, noise=0.01), ["weight_decay"], ACCURACY)]
  assert "differ by 0.005: NOT distinguishable" in line
  apart = {(1e-3, 0.0): 0.90, (1e-2, 0.0): 0.955, (1e-1, 0.0): 0.5}
  (line,) = checks(board_of(apart, noise=0.001), ["weight_decay"], ACCURACY)
  assert "distinguishable: more than twice the standard error" in line
  (line,) = checks(board_of(close, seeds=1), ["weight_decay"], ACCURACY)
  assert "one seed each" in line and "cannot be told" in line


def test_the_report_carries_the_checks_and_links_the_figures():
  scores = {(lr, 0.0): 0.8 + lr for lr in [1e-4, 1e-3, 1e-2, 1e-1]}
  board = board_of(scores)
  text = markdown_report("a sweep", board, ACCURACY, hyperparameters=["learning_rate"],
                         figures={"isolation plots": "isolation.png"})
  assert "## Checks of the chosen configuration (Tuning Playbook)" in text
  assert "- **Warning**: learning_rate = 0.1 was chosen at the top" in text
  assert text.rstrip().endswith("- [isolation plots](isolation.png)")
