"""The theory overlay: a momentum sweep on a quadratic lands where the rate theory says."""
import numpy as np
import pandas as pd

from jaxopt_lab import cli, theory
from jaxopt_lab.studies import run_study


def test_sweep_chooses_the_theory_optimum_and_measures_theory_rates(tmp_path):
  assert cli.main(["momentum-sweep-vs-theory", "--quick", "--out", str(tmp_path)]) == 0
  assert (tmp_path / "sweep_vs_theory.png").stat().st_size > 20_000
  table = pd.read_csv(tmp_path / "sweep_vs_theory.csv")
  grid = table.groupby(["learning_rate", "beta"]).agg(
      measured=("measured_rate", "mean"), theory=("theory_rate", "first")).reset_index()
  measured = grid[np.isfinite(grid.measured)]
  # the sweep's fastest configuration is the grid point theory ranks first
  assert measured.measured.idxmin() == measured.theory.idxmin()
  eigenvalues = np.geomspace(0.01, 1.0, 20)
  assert measured.theory.min() < theory.momentum_optimal(eigenvalues).rate + 0.02
  converging = table[np.isfinite(table.measured_rate) & (table.theory_rate < 0.995)]
  error = np.abs(converging.measured_rate / converging.theory_rate - 1)
  assert len(converging) > 100 and np.median(error) < 0.005
  # item 13: measured above the float32 floor, no run beats the theory's optimum
  optimum = theory.momentum_optimal(eigenvalues).rate
  assert table.measured_rate.min() >= 0.99 * optimum
  # runs beyond the divergence line grow, as theory says
  beyond = table[table.theory_rate > 1.01]
  assert len(beyond) and (beyond.diverged | (beyond.measured_rate > 1)).all()
