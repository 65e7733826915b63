"""The `jaxopt-lab` command and the trajectories study, run small."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jaxopt_lab import cli, studies
from jaxopt_lab.optim.aliases import BY_NAME


def test_help_lists_every_study():
  result = subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", "--help"],
                          capture_output=True, text=True, check=True)
  for name in studies.REGISTRY:
    assert name in result.stdout


def test_bad_argument_is_one_clear_line(tmp_path, capsys):
  code = cli.main(["trajectories", "--quick", "--optimizers", "adam,shampoo", "--out",
                   str(tmp_path)])
  error = capsys.readouterr().err.strip()
  assert code == 2
  assert error.splitlines() == [error]
  assert "unknown shampoo" in error and "adam" in error


def test_trajectories_quick(tmp_path):
  assert cli.main(["trajectories", "--quick", "--out", str(tmp_path)]) == 0
  for name in ["trajectories.png", "suboptimality.png", "steps_to_tolerance.csv"]:
    assert (tmp_path / name).stat().st_size > 1000
  table = pd.read_csv(tmp_path / "steps_to_tolerance.csv")
  assert len(table) == 3 * len(BY_NAME)
  assert set(table.optimizer) == set(BY_NAME)
  # on the quadratic, the lectures' optimizers all get below tolerance at their best rate;
  # sign methods at a constant rate stall in an oscillation of size ~lr, above it
  quadratic = table[table.surface.str.startswith("quadratic")].set_index("optimizer")
  lectures = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad"]
  assert (quadratic.loc[lectures].steps_to_tolerance < quadratic.loc[lectures].steps_run).all()
  assert quadratic.loc[["sign_sgd", "lion"]].steps_to_tolerance.isna().all()


def test_near_best_rates_bracket_the_rates_within_ten_percent_of_the_fastest():
  from jaxopt_lab.studies.trajectories import TOLERANCE, near_best_rates
  reach = [-1, 100, 105, 111, 150, -1]  # the step from which each rate stays below tolerance
  gap = np.ones((len(reach), 200))
  for row, step in enumerate(reach):
    if step >= 0:
      gap[row, step:] = TOLERANCE / 2
  rates = np.logspace(-3, 2, len(reach))
  assert near_best_rates(gap, rates) == (rates[1], rates[2])
  assert np.isnan(near_best_rates(np.ones((2, 5)), rates[:2])).all()


def test_a_panel_window_grows_to_hold_its_path_up_to_three_times_its_size():
  from jaxopt_lab.studies.trajectories import window
  default = (-1.0, 1.0, -1.0, 1.0)
  assert window(default, [np.array([[0.0, 0.0], [0.5, -0.5]])]) == default
  x0, x1, y0, y1 = window(default, [np.array([[0.0, 0.0], [2.0, 0.5], [np.nan, 9.0]])])
  assert x1 == pytest.approx(2.1) and (x0, y0, y1) == (-1.0, -1.0, 1.0)
  assert window(default, [np.array([[0.0, -100.0]])])[2] == pytest.approx(-3.1)


def test_run_study_rejects_options_the_study_does_not_take(tmp_path):
  with pytest.raises(ValueError, match=r"run_study\('sweep'\): no option stepz"):
    studies.run_study("sweep", tmp_path, stepz=3)


def test_flagship_runs_its_plan_and_writes_an_index(tmp_path, monkeypatch):
  """Each study of the plan is called with options it accepts (stubbed: the studies have
  their own tests), and README.md indexes what they wrote."""
  from jaxopt_lab.studies import flagship
  calls = []
  for _, study, _, _ in flagship.PLAN:
    module = studies.load(study)

    def fake_main(args, study=study):
      calls.append((study, args))
      path = args.out / f"{study}.png"
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_bytes(b"png")
      return [path]
    monkeypatch.setattr(module, "main", fake_main)
  for quick in (False, True):
    calls.clear()
    assert cli.main(["flagship", "--out", str(tmp_path), *(["--quick"] if quick else [])]) == 0
    assert [study for study, _ in calls] == [study for _, study, _, _ in flagship.PLAN]
    sweep_args = calls[0][1]
    assert sweep_args.quick == quick and sweep_args.seeds == (1 if quick else 3)
  assert set(flagship.SWEEP["optimizer"].split(",")) == set(BY_NAME)  # the whole zoo
  index = (tmp_path / "README.md").read_text()
  assert "[sweep/sweep.png](sweep/sweep.png)" in index and "theory/" in index


STUDY_OPTIONS = [  # (study, flag, bad value, what the one line must say): checked before compute
    ("momentum-sweep-vs-theory", "--seeds", "10000000000", "an integer in [1, 10000]"),
    ("momentum-sweep-vs-theory", "--grid", "10000000000", "an integer in [3, 2000]"),
    ("momentum-sweep-vs-theory", "--condition-number", "1e300", "(1 / kappa is a float32"),
    ("momentum-sweep-vs-theory", "--condition-number", "nan", "a number in [1, "),
    ("full-batch", "--l2", "inf", "a number in [1e-300, 3.40282e+38]"),
    ("full-batch", "--tol", "1e300", "a number in [1e-300, "),
    ("full-batch", "--repeats", "10000000000", "an integer in [1, 1000]"),
    ("full-batch", "--seed", "-1", "an integer in [0, 4294967295], got -1"),
    ("sgd-noise", "--chains", "0", "an integer in [2, 65536], got 0"),
    ("sgd-noise", "--chains", "10000000000", "an integer in [2, 65536]"),
    ("schedules", "--steps", "10000000000", "an integer in [50, 10000000]"),
    ("schedules", "--peak", "1e300", "a number in [1.17549e-38, 3.40282e+38], got 1e+300"),
    ("random-search", "--trials", "0", "an integer in [1, 100000000], got 0"),
    ("gradient-flow", "--max-depth", "10000000000", "an integer in [2, 40]"),
    ("gradient-flow", "--width", "10000000000", "an integer in [1, 4096]"),
    ("gradient-flow", "--seed", "10000000000", "an integer in [0, 4294967295]"),
    ("sweep", "--refine", "10000000000", "an integer in [0, 100]"),
    ("sweep", "--condition-number", "1e300", "(1 / kappa is a float32 eigenvalue)"),
]


@pytest.mark.parametrize("study,flag,value,expected", STUDY_OPTIONS,
                         ids=[f"{s}{f}={v}" for s, f, v, _ in STUDY_OPTIONS])
def test_every_study_option_is_checked_in_one_line(study, flag, value, expected, tmp_path,
                                                   capsys, monkeypatch):
  """With --quick too: a bad value is refused, never clamped to the quick version's size."""
  import jax
  cli.build_parser()  # imports every study (some compile functions at import)
  monkeypatch.setattr(jax, "jit", lambda *a, **k: pytest.fail("compiled before checking"))
  assert cli.main([study, "--quick", flag, value, "--out", str(tmp_path)]) == 2
  error = capsys.readouterr().err.strip()
  assert error.splitlines() == [error] and f"{flag} must be " in error and expected in error, error
