"""The regularization and batch-size studies, run small through the CLI: files written, and the
lectures' claims they show."""
import numpy as np
import pandas as pd

from jaxopt_lab import cli


def test_regularization_quick_trades_training_loss_and_flips_cost(tmp_path):
  assert cli.main(["regularization", "--quick", "--out", str(tmp_path)]) == 0
  for name in ["curves.png", "gap.png", "strengths.png", "flips.png"]:
    assert (tmp_path / name).stat().st_size > 20_000
  table = pd.read_csv(tmp_path / "regularization.csv").set_index("regularizer")
  assert list(table.index) == ["none", "L2 penalty", "dropout", "early stopping", "rotation",
                               "horizontal flip"]
  none, l2 = table.loc["none"], table.loc["L2 penalty"]
  assert none.train_loss < 0.05 and none.gap > 0.5          # 150 examples: fit, not learned
  assert l2.train_loss > none.train_loss and l2.val_loss < none.val_loss - 0.1
  sweep = pd.read_csv(tmp_path / "sweep.csv")
  assert "test_accuracy" not in sweep.columns               # tested: the chosen settings only
  flips = sweep[sweep.regularizer == "horizontal flip"].set_index("strength")
  assert flips.loc[1.0, "val_accuracy"] < none.val_accuracy - 0.4   # always mirrored
  recall = pd.read_csv(tmp_path / "flips.csv").set_index("setting")
  mirrored = recall.loc["flip p=1"]
  assert mirrored.digit_0 > 0.8 and mirrored.digit_2 < 0.2 and mirrored.digit_7 < 0.2


def test_batch_size_quick_best_rate_grows_with_the_batch(tmp_path):
  assert cli.main(["batch-size", "--quick", "--out", str(tmp_path)]) == 0
  assert (tmp_path / "batch_size.png").stat().st_size > 20_000
  rates = pd.read_csv(tmp_path / "rates.csv")
  assert len(rates) == 2 * 2 * 5                            # B x warmup x rate
  best = pd.read_csv(tmp_path / "batch_size.csv")
  warmed = best[best.warmup].set_index("batch_size")
  assert warmed.loc[256, "learning_rate"] > warmed.loc[32, "learning_rate"]
  np.testing.assert_allclose(warmed.rule, warmed.loc[32, "learning_rate"] * warmed.index / 32)
  assert (best.near_best_low <= best.learning_rate).all()
  assert (best.learning_rate <= best.near_best_high).all()
