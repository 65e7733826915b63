"""The figure checks themselves: each flags the fault it names, and a clean figure passes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import patheffects  # noqa: E402

from figure_checks import contour_labels, contrast, legend_entries, review  # noqa: E402
from figure_checks import unexplained_markers  # noqa: E402


def clean():
  fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
  x = np.linspace(0.3, 1, 20)
  ax.plot(x, x ** 2, "-", color="tab:blue", label="theory")
  ax.plot(x[::4], x[::4] ** 2, "o", color="tab:blue", label="runs")
  ax.set(xlim=(0, 1.1), ylim=(0, 1.2), xlabel="x", ylabel="y", title="a short title")
  ax.legend(loc="upper left")
  return fig, ax


def test_a_clean_figure_has_no_problems():
  fig, ax = clean()
  assert review(fig) == []
  assert legend_entries(ax) == ["theory", "runs"] and unexplained_markers(ax) == []
  plt.close(fig)


def faults():
  """(what the problem line says, how to make the clean figure show it)."""
  def wide_title(fig, ax):
    ax.set_title("a title that runs on and on, much wider than the axes it sits above " * 2)

  def overlap(fig, ax):
    ax.text(0.5, 0.5, "first words")
    ax.text(0.52, 0.5, "second words")

  def small(fig, ax):
    ax.set_xlabel("x", fontsize=4)

  def faint(fig, ax):
    ax.axhspan(0.4, 0.8, color="yellow")
    ax.text(0.8, 0.6, "white on yellow", color="white", va="center")

  def cut(fig, ax):
    ax.plot([0.0], [0.6], "s", ms=10, color="tab:red", label="on the edge")

  def covered(fig, ax):
    ax.plot([0.12], [1.15], "^", color="tab:blue", label="under the legend")

  def proxy(fig, ax):
    ax.plot([], [], "o", color="0.5", label="a grey dot nothing drawn has")
    ax.legend(loc="upper left")

  def unlabelled(fig, ax):
    ax.set_ylabel("")

  def outside(fig, ax):
    fig.text(0.9, 0.5, "beyond the right edge of the figure")

  def gap(fig, ax):
    fig.set_layout_engine(None)
    ax.set_position([0.1, 0.1, 0.3, 0.8])
    fig.add_axes([0.8, 0.1, 0.15, 0.8]).set(xlabel="x", ylabel="y")

  return [("wider than", wide_title), ("overlap", overlap), ("pt when", small),
          ("contrast", faint), ("cut by the axes edge", cut), ("legend covers", covered),
          ("that nothing drawn has", proxy), ("no label", unlabelled),
          ("outside the figure", outside), ("empty vertical band", gap)]


@pytest.mark.parametrize("words, spoil", faults(), ids=[words for words, _ in faults()])
def test_each_check_flags_its_fault(words, spoil):
  fig, ax = clean()
  spoil(fig, ax)
  problems = review(fig)
  assert any(words in problem for problem in problems), problems
  plt.close(fig)


def test_a_halo_carries_a_label_over_any_colour_and_contours_are_found():
  fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
  x, y = np.meshgrid(np.linspace(-1, 1, 40), np.linspace(-1, 1, 40))
  ax.pcolormesh(x, y, x ** 2 + y ** 2, cmap="viridis", vmin=0, vmax=1)
  lines = ax.contour(x, y, x ** 2 + y ** 2, levels=[0.9, 1.0], colors="black")
  labels = ax.clabel(lines, fmt="%.1f", colors="white")
  ax.set(xlabel="x", ylabel="y")
  assert sorted(text.get_text() for text in contour_labels(ax)) == ["0.9", "1.0"]
  assert any("contrast" in problem for problem in review(fig))  # white on yellow-green
  for label in labels:
    label.set_color("black")
    label.set_path_effects([patheffects.withStroke(linewidth=2.5, foreground="white")])
  assert not any("contrast" in problem for problem in review(fig))
  plt.close(fig)


def test_contrast_is_wcag():
  assert contrast((0, 0, 0), (1, 1, 1)) == pytest.approx(21)
  assert contrast((0.3, 0.3, 0.3), (0.3, 0.3, 0.3)) == pytest.approx(1)


def test_unexplained_markers_names_shapes_the_legend_lacks():
  fig, ax = clean()
  ax.plot([0.5], [0.2], "s", color="tab:orange", label="squares")
  assert unexplained_markers(ax) == ["squares"]
  plt.close(fig)
