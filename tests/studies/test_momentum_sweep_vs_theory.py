"""The theory overlay: a momentum sweep on a quadratic lands where the rate theory says."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from figure_checks import contour_labels, legend_entries, review, unexplained_markers
from jaxopt_lab import cli, theory
from jaxopt_lab.studies import momentum_sweep_vs_theory, run_study


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


def test_the_figure_reads_without_eyes():
  """The figure alone, on a small grid whose 'measured' rates are theory's (no sweep run)."""
  eigenvalues = np.geomspace(0.01, 1.0, 20)
  optimum = theory.momentum_optimal(eigenvalues)
  rates, betas = np.linspace(0.02, 1.4 * optimum.learning_rate, 12), np.linspace(0, 0.95, 12)
  alpha, beta = (a.ravel() for a in np.meshgrid(rates, betas))
  rate = theory.momentum_rate(alpha, beta, eigenvalues)
  by_config = pd.DataFrame({"learning_rate": alpha, "beta": beta, "theory_rate": rate,
                            "measured_rate": np.where(rate < 1, rate, np.nan),
                            "diverged": rate >= 1})
  chosen = by_config.loc[by_config.measured_rate.idxmin()]
  agree = by_config[by_config.theory_rate < 0.995]
  figure = momentum_sweep_vs_theory.plot(rates, betas, eigenvalues, by_config, chosen, optimum,
                                         agree, 100)
  assert review(figure) == []  # legible legends, readable contour labels, nothing cut
  theory_map, measured, scatter, colorbar = figure.axes
  assert "theory" in colorbar.get_ylabel() and "measured" in colorbar.get_ylabel()
  assert len(contour_labels(theory_map)) >= 3
  assert theory_map.get_legend().get_texts()[0].get_fontsize() >= 10
  for ax in (theory_map, measured):
    assert unexplained_markers(ax) == []
    assert any(entry.startswith("sweep's choice") for entry in legend_entries(ax))
  assert scatter.get_xlim() == scatter.get_ylim()
  plt.close(figure)
