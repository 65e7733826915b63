"""The `jaxopt-lab` command and the trajectories study, run small."""
import subprocess
import sys

import pandas as pd
import pytest

from jaxopt_lab import cli
from jaxopt_lab.optimizers import BY_NAME


def test_help_lists_every_study():
  result = subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", "--help"],
                          capture_output=True, text=True, check=True)
  for name in cli.STUDIES:
    assert name in result.stdout


def test_bad_argument_is_one_clear_line(tmp_path, capsys):
  code = cli.main(["trajectories", "--quick", "--optimizers", "adam,lion", "--out",
                   str(tmp_path)])
  error = capsys.readouterr().err.strip()
  assert code == 2
  assert error.splitlines() == [error]
  assert "unknown lion" in error and "adam" in error


def test_trajectories_quick(tmp_path):
  assert cli.main(["trajectories", "--quick", "--out", str(tmp_path)]) == 0
  for name in ["trajectories.png", "suboptimality.png", "steps_to_tolerance.csv"]:
    assert (tmp_path / name).stat().st_size > 1000
  table = pd.read_csv(tmp_path / "steps_to_tolerance.csv")
  assert len(table) == 3 * len(BY_NAME)
  assert set(table.optimizer) == set(BY_NAME)
  # on the quadratic, every optimizer gets below tolerance at its best learning rate
  quadratic = table[table.surface.str.startswith("quadratic")]
  assert (quadratic.steps_to_tolerance < quadratic.steps_run).all(), quadratic
