"""`jaxopt-lab search-comparison --quick`: every method at the same budget, its figure and table;
bad options are one line."""
import pandas as pd

from jaxopt_lab import cli
from jaxopt_lab.studies import run_study


def test_search_comparison_quick_spends_one_budget_per_method(tmp_path):
  written = run_study("search-comparison", tmp_path, quick=True)
  assert {path.name for path in written} == {
      "search_comparison.csv", "search_comparison_runs.csv", "search_comparison.md",
      "search_comparison.png"}
  assert (tmp_path / "search_comparison.png").stat().st_size > 20000
  curves = pd.read_csv(tmp_path / "search_comparison.csv")
  final = curves[curves.final]
  assert sorted(final.method.unique()) == ["grid", "halving", "quasi-random", "random", "tpe"]
  budget = 8 * 45   # 8 runs of 45 steps
  assert len(final) == 5 * 2 and set(final[final.method != "halving"].run_steps) == {budget}
  halving = final[final.method == "halving"]   # 32 draws, rungs of 5, 15 and 45 steps
  assert (halving.runs == 32).all() and halving.run_steps.between(0.9 * budget, budget).all()
  drawn = final[final.method != "grid"]   # a grid of 2 points per axis tries only corners
  assert (drawn.lowest_val_loss < 1.0).all() and drawn.its_val_accuracy.between(0.7, 1).all()
  tpe = curves[(curves.method == "tpe") & (curves.sweep_seed == 0)]
  assert list(tpe.runs) == [4, 8]   # two batches of 4
  best = curves.groupby(["method", "sweep_seed"]).lowest_val_loss
  assert (best.apply(lambda b: b.is_monotonic_decreasing)).all()   # best so far never rises
  runs = pd.read_csv(tmp_path / "search_comparison_runs.csv")
  assert len(runs) == (4 * 8 + 32) * 2 and runs.learning_rate.between(1e-4, 3).all()
  assert set(runs[runs.method == "halving"].steps) == {5, 15, 45}


def test_bad_options_are_one_line(tmp_path, capsys):
  for flag, value, message in [("--configurations", "7", "an integer in [8, 4096], got 7"),
                               ("--tpe-batch", "100", "an integer in [1, 64], got 100")]:
    assert cli.main(["search-comparison", flag, value, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and flag in error and len(error.splitlines()) == 1, error
