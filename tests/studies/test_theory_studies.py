"""The convergence-theory studies, run small through the CLI: files written, theory and
measurement in agreement in what they wrote, and each figure read without eyes."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from figure_checks import legend_entries, markers, review, unexplained_markers
from jaxopt_lab import cli, studies

STUDY_FILES = {
    "rate-vs-step-size": ["rate_vs_step_size.png", "rate_vs_step_size.csv"],
    "momentum-map": ["momentum_map.png", "momentum_map_regimes.csv"],
    "eigencomponents": ["eigencomponents.png", "eigencomponents.csv"],
    "rates-vs-condition": ["rates_vs_condition.png", "rates_vs_condition.csv"],
    "sgd-noise": ["sgd_noise.png", "sgd_noise_stationary.csv", "sgd_noise_transient.csv"],
    "lecture-exercise": ["lecture_exercise.png", "lecture_exercise.csv"],
    "iterate-averaging": ["iterate_averaging.png", "iterate_averaging.csv"],
}


def check_agreement(name, out):
  """What each study's table must show, even in its quick version."""
  if name == "rate-vs-step-size":
    table = pd.read_csv(out / "rate_vs_step_size.csv")
    assert set(table.beta) >= {0.0, 0.6, 0.85} and (table.measured_rate > 1).any()
    assert table.relative_error.abs().max() < 0.01
  elif name == "momentum-map":
    table = pd.read_csv(out / "momentum_map_regimes.csv").set_index("regime")
    assert table.loc["divergence"].theory_rate > 1 > table.loc["oscillations"].theory_rate
    measured = table.dropna()
    assert len(measured) == 4  # all but the one-step regime, whose error is 0 after a step
    assert ((measured.measured_rate / measured.theory_rate - 1).abs() < 0.01).all()
  elif name == "eigencomponents":
    table = pd.read_csv(out / "eigencomponents.csv")
    assert (table.measured_component - table.predicted_component).abs().max() < 1e-10
  elif name == "rates-vs-condition":
    table = pd.read_csv(out / "rates_vs_condition.csv")
    assert table.relative_error.abs().max() < 0.02
  elif name == "sgd-noise":
    table = pd.read_csv(out / "sgd_noise_stationary.csv")
    assert table.relative_error.abs().max() < 0.15  # 32 chains in the quick version
  elif name == "iterate-averaging":
    table = pd.read_csv(out / "iterate_averaging.csv")
    # every final E f within 4 standard errors of its theory (64 chains in the quick version)
    assert ((table.final_loss - table.theory).abs() < 4 * table.standard_error).all(), table
    polyak = table[table.method.str.startswith("Polyak")]
    assert (polyak.final_loss < polyak.sgd_noise_floor / 10).all()  # below the floor, falling
    assert polyak.final_loss.max() / polyak.final_loss.min() < 1.5  # whatever the rate
  elif name == "lecture-exercise":
    table = pd.read_csv(out / "lecture_exercise.csv")
    assert (table.predicted == table.observed).all()
    assert set(table.observed.str.split(",").str[0]) == {"converges", "oscillates for ever",
                                                         "diverges"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
  """run(name) -> (out folder, {png name: Figure}): each study run once, --quick, through the
  CLI, keeping the figures it saved (closed, but drawable)."""
  done = {}

  def run(name):
    if name not in done:
      out, figures, module = tmp_path_factory.mktemp(name), {}, studies.load(name)
      save = module.save_figure

      def keep(fig, path):
        figures[Path(path).name] = fig
        return save(fig, path)

      with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "save_figure", keep)
        assert cli.main([name, "--quick", "--out", str(out)]) == 0
      done[name] = out, figures
    return done[name]

  return run


@pytest.mark.parametrize("name", STUDY_FILES)
def test_study_quick(name, quick):
  out, figures = quick(name)
  for file in STUDY_FILES[name]:
    assert (out / file).stat().st_size > (20000 if file.endswith(".png") else 300), file
  assert list(figures) == [file for file in STUDY_FILES[name] if file.endswith(".png")]
  check_agreement(name, out)


@pytest.mark.parametrize("name", STUDY_FILES)
def test_figure_reads_without_eyes(name, quick):
  """Nothing cut, covered, overlapping, too small, too faint or unlabelled (figure_checks)."""
  for figure in quick(name)[1].values():
    assert review(figure) == []


def the_figure(quick, name):
  (figure,) = quick(name)[1].values()
  return figure


def test_rate_vs_step_size_figure(quick):
  (ax,) = the_figure(quick, "rate-vs-step-size").axes
  assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
  entries = legend_entries(ax)  # one entry per beta, its line and its measured dots together
  assert entries[0] == "gradient descent (β = 0)" and len(entries) == 5
  assert sum(entry.startswith("heavy ball β = ") for entry in entries) == 3
  assert entries[-1].startswith("heavy-ball optimum") and unexplained_markers(ax) == []


def test_momentum_map_figure(quick):
  figure = the_figure(quick, "momentum-map")
  rate_map, colorbar, *insets, key = figure.axes
  assert "ρ" in colorbar.get_ylabel() and rate_map.get_xlabel().startswith("αλ")
  assert [inset.get_title()[0] for inset in insets] == list("ABCDE")
  assert all(inset.get_xlabel() == "step k" for inset in insets)
  points = [artist for artist, _, _ in markers(rate_map) if artist.get_marker() == "o"]
  assert len(points) == 5 and not any(point.get_clip_on() for point in points)  # C sits on 0
  assert legend_entries(key) == ["±ρ^k, the theory's envelope", "w_k, run of momentum"]


def test_eigencomponents_figure(quick):
  shares_gd, shares_heavy, decay_gd, decay_heavy = the_figure(quick, "eigencomponents").axes
  assert shares_gd.get_ylim() == shares_heavy.get_ylim() == (0, 1)  # one scale across the row
  assert decay_gd.get_ylim() == decay_heavy.get_ylim() and decay_gd.get_yscale() == "log"
  for ax in (shares_gd, shares_heavy):  # the stacked shares fill every step, to the last
    last = max(vertices[:, 0].max() for band in ax.collections
               if isinstance(band, PolyCollection) for vertices in [band.get_paths()[0].vertices])
    assert last == ax.get_xlim()[1] - 2
  for ax in (decay_gd, decay_heavy):  # each eigenvalue's marker shape shown in the legend
    assert len(legend_entries(ax)) == 4 and unexplained_markers(ax) == []
    assert {artist.get_marker() for artist, _, _ in markers(ax)} == set("os^")


def test_rates_vs_condition_figure(quick):
  rates, steps = the_figure(quick, "rates-vs-condition").axes
  assert (rates.get_xscale(), rates.get_yscale()) == ("log", "linear")
  assert (steps.get_xscale(), steps.get_yscale()) == ("log", "log")
  assert len(legend_entries(rates)) == 5 and unexplained_markers(rates) == []


def test_sgd_noise_figure(quick):
  stationary, transient = the_figure(quick, "sgd-noise").axes
  assert stationary.get_yscale() == transient.get_yscale() == "log"
  assert len(legend_entries(stationary)) == 6 and len(legend_entries(transient)) == 6


def test_lecture_exercise_figure_keeps_the_plane_paths_apart(quick):
  *parabolas, plane, decay = the_figure(quick, "lecture-exercise").axes
  assert decay.get_yscale() == "log" and len(legend_entries(decay)) == 4
  paths = [xy for artist, xy, _ in markers(plane) if artist.get_marker() == "o"]
  assert len(paths) == 4
  minimum = plane.transData.transform((0, 0))
  for first, second in [(a, b) for i, a in enumerate(paths) for b in paths[i + 1:]]:
    away = [xy[np.hypot(*(xy - minimum).T) > 30] for xy in (first, second)]  # pixels
    gaps = np.hypot(*(away[0][:, None] - away[1][None]).transpose(2, 0, 1))
    assert gaps.size == 0 or gaps.min() > 10


def test_theory_runs_the_chosen_studies_into_subfolders(tmp_path):
  assert cli.main(["theory", "--quick", "--studies", "eigencomponents", "--out",
                   str(tmp_path)]) == 0
  assert (tmp_path / "eigencomponents" / "eigencomponents.png").stat().st_size > 20000
  assert [p.name for p in tmp_path.iterdir()] == ["eigencomponents"]


def test_theory_rejects_an_unknown_study_in_one_line(tmp_path, capsys):
  assert cli.main(["theory", "--studies", "momentum-map,eigenvalues", "--out",
                   str(tmp_path)]) == 2
  error = capsys.readouterr().err.strip()
  assert error.splitlines() == [error] and "unknown eigenvalues" in error
