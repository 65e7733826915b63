"""The convergence-theory studies, run small through the CLI: files written, theory and
measurement in agreement in what they wrote."""
import pandas as pd
import pytest

from jaxopt_lab import cli

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


@pytest.mark.parametrize("name", STUDY_FILES)
def test_study_quick(name, tmp_path):
  assert cli.main([name, "--quick", "--out", str(tmp_path)]) == 0
  for file in STUDY_FILES[name]:
    assert (tmp_path / file).stat().st_size > (20000 if file.endswith(".png") else 300), file
  check_agreement(name, tmp_path)


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
