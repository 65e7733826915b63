"""`jaxopt-lab sweep` end to end: files, report, bad arguments, a crash and its resume."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jaxopt_lab import cli
from jaxopt_lab.sweeps import store

QUADRATIC = ["sweep", "--dataset", "quadratic", "--optimizer", "momentum", "--steps", "100",
             "--param", "learning_rate=0.01,0.1,0.5,1,3", "--param", "beta=0,0.5,0.9",
             "--seeds", "2", "--top-k", "3", "--fresh-seeds", "2"]


def test_quadratic_sweep_writes_table_report_and_figures(tmp_path):
  assert cli.main([*QUADRATIC, "--out", str(tmp_path)]) == 0
  table = pd.read_csv(tmp_path / "results.csv")
  assert len(table) == 5 * 3 * 2
  assert {"learning_rate", "beta", "seed", "final_train_loss", "best_train_loss",
          "diverged"} <= set(table.columns)
  assert table.diverged.any() and not table.diverged.all()  # lr 3 diverges, small ones do not
  report = (tmp_path / "report.md").read_text()
  assert "Winner's curse" in report and "Best configurations" in report
  for figure in ["objective_vs_each.png", "pairs.png", "top_curves.png"]:
    assert (tmp_path / figure).stat().st_size > 5000
  assert np.load(tmp_path / "curves.npz")["train_loss"].shape == (30, 100)


def test_digits_sweep_quick_selects_on_validation_tests_once_and_diagnoses(tmp_path, capsys):
  """Adam at 1e-5 crawls, at 1e-2 it learns: the report and `diagnose RUN_DIR` name the crawl,
  and `diagnose` refuses a folder whose files disagree."""
  code = cli.main(["sweep", "--quick", "--optimizer", "adam", "--param",
                   "learning_rate=1e-5,1e-2", "--seeds", "1", "--top-k", "2",
                   "--fresh-seeds", "1", "--out", str(tmp_path)])
  assert code == 0
  report = (tmp_path / "report.md").read_text()
  assert "test_accuracy_mean" in report
  table = pd.read_csv(tmp_path / "results.csv")
  assert "test_accuracy_mean" not in table.columns  # the test set never enters selection
  assert table.best_val_accuracy.max() > 0.5
  assert "## Training diagnosis of the top and bottom configurations" in report
  assert "learning rate too low (1/1 seeds)" in report
  assert {"update_ratio_1", "update_ratio_2", "dead_relu_1", "nonfinite_steps"} <= set(
      np.load(tmp_path / "curves.npz").files)

  capsys.readouterr()
  assert cli.main(["diagnose", str(tmp_path)]) == 0
  lines = capsys.readouterr().out.strip().splitlines()
  assert lines[0] == f"{tmp_path}: digits-mlp64-relu-adam-constant-60, 2 runs"
  best, worst = lines[1:]
  assert best == "  #1 of 2 (learning_rate=0.01): none"
  assert worst.startswith("  #2 of 2 (learning_rate=1e-05): learning rate too low (1/1 seeds)")
  assert "update/weight ratio far from 1e-3" in worst

  table.iloc[:1].to_csv(tmp_path / "results.csv", index=False)   # a run lost
  assert cli.main(["diagnose", str(tmp_path)]) == 2
  assert cli.main(["diagnose", str(tmp_path / "round-0")]) == 2
  assert cli.main(["diagnose"]) == 2
  errors = capsys.readouterr().err.strip().splitlines()
  assert len(errors) == 3 and "must describe the same sweep" in errors[0]
  assert "must be the --out folder of a finished" in errors[1]
  assert "RUN_DIR is required" in errors[2]


@pytest.mark.parametrize("arguments, message", [
    (["--param", "learning_rate=loguniform:0:1:4"],
     "--param learning_rate=loguniform:0:1:4: low must be in (0, inf) for loguniform, got 0"),
    (["--param", "learning_rate=log:1e-4:1e-1:8"], "--param learning_rate=log:1e-4:1e-1:8: 'log' "
     "is not an axis kind; did you mean loguniform (n random draws) or loggrid (n grid values)?"),
    (["--param", "learning_rate="], "--param learning_rate=: the axis is empty; give values a,b,c"),
    (["--param", "learning_rate=1e-3", "--search", "sobol"],
     "argument --search: invalid choice: 'sobol' (choose from 'random', 'quasi-random', 'tpe')"),
    (["--param", "learning_rate=1e-3", "--search", "tpe", "--search-batch", "0"],
     "--search-batch must be an integer in [1, 2147483647], got 0"),
    (["--param", "learning_rate=1e-3", "--search", "tpe", "--halving", "3"],
     "--search tpe: proposes whole runs, so it cannot be combined with --halving 3"),
    (["--param", "learning_rate=1e-3", "--param", "batch_size=32,64", "--search", "tpe"],
     "--search tpe: runs one compiled program per batch, without static axes, got static axes "
     "(batch_size)"),
    (["--param", "learning_rate=1e-3", "--param", "b1=1.0,0.9"], "b1 must be in [0, 1), got 1.0"),
    (["--param", "learning_rate=1e-3", "--param", "gamma=1"], "not a hyperparameter"),
    (["--param", "learning_rate=-1"], "learning_rate must be in [0, inf)"),
    (["--param", "learning_rate=1e-3", "--param", "dropout=0,1.5"],
     "(dropout=1.5): dropout must be in [0, 1), got 1.5"),
    (["--param", "learning_rate=1e-3", "--param", "cutout_size=2,9"],
     "(cutout_size=9.0): cutout_size must be in [0, 8], got 9.0"),
    (["--param", "learning_rate=1e-3", "--param", "patience=0"],
     "EarlyStopping(patience=0.0): patience must be in [1, inf], got 0.0"),
    (["--param", "lr"], "--param lr: assignment must be NAME=AXIS"),
    (["--param", "learning_rate=1e-3", "--steps", "0"], "--steps must be a positive integer"),
    (["--param", "learning_rate=1e-3", "--steps", "abc"], "argument --steps: invalid int value"),
    (["--param", "learning_rate=1e-3", "--steps", "10", "--schedule", "warmup_cosine"],
     "--schedule warmup_cosine --steps 10: warmup_steps must be in [0, 10) (the warmup must end "
     "before the run does), got 50"),
    (["--param", "learning_rate=1e-3", "--param", "warmup_steps=5,20", "--steps", "10",
      "--schedule", "warmup_cosine"], "warmup_steps must be in [0, 10)"),
    (["--param", "learning_rate=1e-3", "--dataset", "quadratic", "--steps", "1000000000"],
     "memory_budget must hold one configuration's runs"),
    (["--param", "learning_rate=1e-3", "--memory-gb", "100000"],
     "--memory-gb must be positive and at most this device's memory"),
    (["--param", "learning_rate=1e-3", "--memory-gb", "nan"], "--memory-gb must be positive"),
    (["--param", "learning_rate=1e-3", "--chunk-size", "0"], "--chunk-size must be a positive"),
    (["--param", "learning_rate=1e-3", "--sample-seed", "-1"], "--sample-seed must be in"),
    (["--param", "learning_rate=1e-3", "--cpu-devices", "0"],
     "--cpu-devices must be an integer in [1, 4096], got 0"),
    (["--param", "learning_rate=1e-3", "--dataset", "quadratic", "--condition-number", "inf"],
     "--condition-number must be a number in [1, "),
])
def test_bad_arguments_give_one_line(arguments, message, tmp_path, capsys):
  try:
    code = cli.main(["sweep", "--optimizer", "adam", *arguments, "--out", str(tmp_path)])
  except SystemExit as exit_:  # argparse's own errors
    code = exit_.code
  error = capsys.readouterr().err.strip()
  assert code == 2 and message in error and len(error.splitlines()) == 1, error
  assert not list(tmp_path.rglob("chunk-*"))  # refused before any run was computed


def test_tpe_search_runs_in_batches_and_needs_optuna_said_in_one_line(tmp_path, capsys,
                                                                       monkeypatch):
  flags = ["sweep", "--dataset", "quadratic", "--optimizer", "momentum", "--steps", "50",
           "--param", "learning_rate=loguniform:1e-3:1:8", "--param", "beta=0.5,0.9",
           "--search", "tpe", "--search-batch", "4", "--top-k", "2", "--fresh-seeds", "1",
           "--quick"]
  assert cli.main([*flags, "--out", str(tmp_path / "tpe")]) == 0
  table = pd.read_csv(tmp_path / "tpe" / "results.csv")
  assert list(table.batch) == [b for b in range(4) for _ in range(4)]   # 8 x 2 trials
  assert set(table.beta) <= {0.5, 0.9} and table.learning_rate.between(1e-3, 1).all()
  assert len(list((tmp_path / "tpe" / "round-0").glob("batch-*/chunks/chunk-*"))) >= 2
  monkeypatch.setitem(sys.modules, "optuna", None)   # as if Optuna were not installed
  capsys.readouterr()
  assert cli.main([*flags, "--out", str(tmp_path / "none")]) == 2
  error = capsys.readouterr().err.strip()
  assert error.endswith("--search tpe: needs Optuna, which is not installed; install it with "
                        "pip install 'jaxopt_lab[optuna]' (or pip install optuna), or choose "
                        "random or quasi-random") and len(error.splitlines()) == 1, error
  assert not list((tmp_path / "none").rglob("chunk-*"))  # refused before any run


def test_bad_output_folders_give_one_line_before_any_compute(tmp_path, capsys):
  (tmp_path / "file").write_text("a file")
  cases = {str(tmp_path / "file"): "is a file, not a folder", "/proc/x": "cannot write there",
           "/proc": "cannot write there", "": "argument --out: must name a folder, got ''"}
  for out, message in cases.items():
    try:
      code = cli.main(["sweep", "--optimizer", "adam", "--param", "learning_rate=1e-3",
                       "--out", out])
    except SystemExit as exit_:
      code = exit_.code
    error = capsys.readouterr().err.strip()
    assert code == 2 and message in error and len(error.splitlines()) == 1, error
  assert not list(Path.cwd().glob("round-0"))  # --out '' never wrote into the current folder


def test_another_sweep_or_a_busy_folder_is_refused_in_one_line(tmp_path, capsys, whole):
  steps = CHUNKED.index("--steps") + 1
  shorter = [*CHUNKED[:steps], "50", *CHUNKED[steps + 1:]]   # another computation
  assert cli.main([*shorter, "--out", str(whole)]) == 2
  error = capsys.readouterr().err.strip()
  assert "holds a different sweep" in error and "another computation" in error
  with store.locked(whole, "test"):
    assert cli.main([*CHUNKED, "--out", str(whole)]) == 2
  error = capsys.readouterr().err.strip()
  assert error.endswith("is in use by another sweep (it holds " + str(whole / ".lock") +
                        "); wait for it to finish or choose another folder")


WORKER = Path(__file__).parents[1] / "sweep_worker.py"
CHECKOUT = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
CHUNKED = [*QUADRATIC, "--chunk-size", "8", "--top-k", "1", "--fresh-seeds", "1",
           "--cpu-devices", "1"]  # as in this process, so that either resumes the other


def signalled(name: str, after: int, out: Path) -> subprocess.CompletedProcess:
  """The CLI sweep in a process that sends itself `name` once `after` chunks are saved."""
  return subprocess.run([sys.executable, str(WORKER), name, str(after), *CHUNKED, "--out",
                         str(out)], env=CHECKOUT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
  out = tmp_path_factory.mktemp("whole")
  assert cli.main([*CHUNKED, "--out", str(out)]) == 0
  return out


def assert_same_results(out: Path, whole: Path):
  pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"),
                                pd.read_csv(whole / "results.csv"))
  np.testing.assert_array_equal(np.load(out / "curves.npz")["train_loss"],
                                np.load(whole / "curves.npz")["train_loss"])


def test_crashed_sweep_resumes_to_the_uninterrupted_result(tmp_path, whole, capsys):
  """The CLI is killed (SIGKILL) right after saving its first chunk; the same command then
  computes only the missing chunks, says so, and gives the uninterrupted result."""
  crashed = signalled("SIGKILL", 1, tmp_path)
  assert crashed.returncode == -signal.SIGKILL, crashed.stderr
  chunks = tmp_path / "round-0" / "chunks"
  assert [p.name for p in chunks.iterdir()] == ["chunk-00000.npz"]
  capsys.readouterr()
  assert cli.main([*CHUNKED, "--out", str(tmp_path)]) == 0
  assert "resumed: 8 of 30 runs loaded, 22 computed" in capsys.readouterr().out
  assert len(list(chunks.glob("chunk-*.npz"))) == 4
  assert_same_results(tmp_path, whole)
  assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_a_rerun_of_a_finished_sweep_redoes_nothing(whole, capsys):
  """Every run loaded: no re-run on fresh seeds, no test, no report or figure is made again
  (the folders' .lock files are taken again: filelock before 3.13 rewrites them)."""
  results = lambda: {p: p.stat().st_mtime_ns for p in whole.rglob("*")
                     if p.is_file() and p.name != ".lock"}
  written = results()
  capsys.readouterr()
  assert cli.main([*CHUNKED, "--out", str(whole)]) == 0
  out = capsys.readouterr().out
  assert "resumed: 30 of 30 runs loaded, 0 computed" in out
  assert "re-running" not in out and "are up to date" in out
  assert results() == written


def test_ctrl_c_is_one_line_saying_what_is_saved(tmp_path, whole):
  interrupted = signalled("SIGINT", 2, tmp_path)
  last = interrupted.stderr.strip().splitlines()[-1]
  assert interrupted.returncode == 130, interrupted.stderr
  assert last == (f"jaxopt-lab sweep: interrupted: 16 finished runs are saved under "
                  f"{tmp_path}; the same command resumes from them")
  assert "Traceback" not in interrupted.stderr
  assert cli.main([*CHUNKED, "--out", str(tmp_path)]) == 0
  assert_same_results(tmp_path, whole)


def test_several_optimizers_each_get_a_sweep_and_a_comparison(tmp_path):
  code = cli.main(["sweep", "--dataset", "quadratic", "--optimizer", "momentum,adam",
                   "--steps", "60", "--param", "learning_rate=0.003,0.03,0.3",
                   "--param", "beta=0.5,0.9", "--top-k", "2", "--fresh-seeds", "1",
                   "--out", str(tmp_path)])
  assert code == 0
  momentum = pd.read_csv(tmp_path / "momentum" / "results.csv")
  adam = pd.read_csv(tmp_path / "adam" / "results.csv")
  assert len(momentum) == 6 and "beta" in momentum.columns   # beta applies to momentum only
  assert len(adam) == 3 and "beta" not in adam.columns
  summary = pd.read_csv(tmp_path / "summary.csv")
  assert sorted(summary.optimizer) == ["adam", "momentum"]
  assert (tmp_path / "comparison.png").stat().st_size > 20_000
  assert "fresh_mean" in (tmp_path / "summary.md").read_text()


def test_refine_rounds_zoom_in_at_the_same_cost(tmp_path):
  assert cli.main(["sweep", "--dataset", "quadratic", "--optimizer", "momentum", "--steps", "60",
                   "--param", "learning_rate=0.01,0.1,0.5,1", "--param", "beta=0,0.5,0.9",
                   "--refine", "2", "--top-k", "2", "--fresh-seeds", "1",
                   "--out", str(tmp_path)]) == 0
  table = pd.read_csv(tmp_path / "results.csv")
  assert table.groupby("round").size().tolist() == [12, 12, 12]
  assert table.config.nunique() == 36
  spans = table.groupby("round").learning_rate.agg(lambda r: r.max() / r.min()).tolist()
  assert spans[0] > spans[1] > spans[2]   # each round zooms in
  assert table.learning_rate.between(0.01, 1).all() and table.beta.between(0, 0.9).all()
  assert (tmp_path / "round-2" / "sweep.json").exists()
