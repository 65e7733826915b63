"""theory.plots.draw_momentum_rate_map, rendered headless on a small grid and read without eyes."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from figure_checks import contour_labels, legend_entries, review, unexplained_markers
from jaxopt_lab import theory
from jaxopt_lab.theory.plots import RATE_LEVELS, draw_momentum_rate_map

EIGENVALUES = np.array([0.01, 0.1, 1.0])


def rate_map(eigenvalues, **options):
  fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
  mesh = draw_momentum_rate_map(ax, np.linspace(0.02, 4, 80), np.linspace(0, 0.95, 80),
                                eigenvalues, **options)
  ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12))
  return fig, ax, mesh


def test_the_map_of_a_spectrum_reads_without_eyes():
  fig, ax, mesh = rate_map(EIGENVALUES)
  assert review(fig) == []  # contour labels readable on every colour, nothing cut or covered
  assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
  assert (ax.get_xlabel(), ax.get_ylabel()) == ("learning rate α", "momentum β")
  assert mesh.get_clim() == (0.0, 1.0) and len(fig.axes) == 2  # the map and its colorbar
  assert "diverges" in fig.axes[1].get_ylabel()
  labels = sorted(text.get_text() for text in contour_labels(ax))
  drawn = [level for level in RATE_LEVELS if level > theory.momentum_optimal(EIGENVALUES).rate]
  assert labels == [f"{level:.2f}" for level in drawn]  # each contour labelled once
  entries = legend_entries(ax)
  assert [entry.split(":")[0].split(" = ")[0] for entry in entries] == \
      ["αλ_min", "αλ_max", "αλ_max", "optimum α*"]
  best = theory.momentum_optimal(EIGENVALUES)
  assert f"α* = {best.learning_rate:.3g}" in entries[-1] and unexplained_markers(ax) == []
  (damping,) = [line for line in ax.lines if line.get_label().startswith("αλ_min")]
  alpha, beta = damping.get_xydata().T  # drawn only where it means something: before divergence
  assert beta.min() > 0.6 and np.all(alpha <= theory.momentum_stability_limit(beta) + 1e-12)
  star = [line for line in ax.lines if line.get_marker() == "*"]
  assert len(star) == 1 and star[0].get_xydata().tolist() == [[best.learning_rate, best.beta]]
  plt.close(fig)


def test_one_eigenvalue_names_the_axis_alpha_lambda_and_draws_no_optimum():
  fig, ax, _ = rate_map(1.0)
  assert review(fig) == []
  assert all(entry.startswith("αλ = ") for entry in legend_entries(ax))
  assert len(legend_entries(ax)) == 3 and "*" not in [line.get_marker() for line in ax.lines]
  assert sorted(text.get_text() for text in contour_labels(ax)) == \
      [f"{level:.2f}" for level in RATE_LEVELS]
  plt.close(fig)


@pytest.mark.parametrize("vmin", [0.0, 0.7])
def test_contours_are_drawn_only_inside_the_colour_range(vmin):
  fig, ax, mesh = rate_map(EIGENVALUES, vmin=vmin, colorbar=False)
  assert mesh.get_clim() == (vmin, 1.0) and len(fig.axes) == 1
  levels = {float(text.get_text()) for text in contour_labels(ax)}
  assert levels and all(vmin < level < 1 for level in levels)
  assert review(fig) == []
  plt.close(fig)
