"""The full-batch study, run small: every method reaches the tolerance, in the expected order."""
import pandas as pd

from jaxopt_lab import cli


def test_full_batch_quick(tmp_path):
  assert cli.main(["full-batch", "--quick", "--out", str(tmp_path)]) == 0
  for name in ["full_batch.png", "minibatch_lbfgs.png"]:
    assert (tmp_path / name).stat().st_size > 10000
  table = pd.read_csv(tmp_path / "time_to_tolerance.csv").set_index("method")
  assert table.converged.all(), table
  steps = table.iterations
  assert steps["newton-cg"] < steps["lbfgs"] < steps["gd"]
  assert (table.final_suboptimality < 1e-6).all()
  curves = pd.read_csv(tmp_path / "minibatch_lbfgs.csv")
  final = curves.groupby("batch_size").suboptimality.last()
  assert final.max() > 100 * final.min()  # minibatch L-BFGS stays far from the optimum
