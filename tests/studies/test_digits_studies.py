"""The digits studies, run small through the CLI: files written, and the claims they make."""
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxopt_lab import cli
from jaxopt_lab.optim.aliases import adam, momentum, sgd
from jaxopt_lab.optim.combine import one_of


def run_study(name, tmp_path, *options):
  assert cli.main([name, "--quick", "--out", str(tmp_path), *options]) == 0


def test_one_of_is_the_chosen_optimizer_step_for_step():
  params = {"w": jnp.array([1.0, -2.0, 3.0])}
  grad = lambda p: {"w": jnp.sin(p["w"]) + p["w"]}
  candidates = [sgd(0.1), momentum(0.05, 0.9), adam(0.02)]

  def run(transform, steps=5):
    state, p = transform.init(params), params
    for _ in range(steps):
      updates, state = transform.update(grad(p), state, p)
      p = jax.tree.map(jnp.add, p, updates)
    return p["w"]

  chosen = jax.vmap(lambda i: run(one_of(candidates, i)))(jnp.arange(3))
  for i, transform in enumerate(candidates):
    np.testing.assert_allclose(chosen[i], run(transform), rtol=1e-6)
  assert not np.allclose(chosen[0], chosen[2])


def test_digits_optimizers_quick_tuned_adam_beats_95_percent(tmp_path):
  run_study("digits-optimizers", tmp_path, "--optimizers", "sgd,adam")
  for name in ["curves.png", "learning_rates.png", "per_class.png", "curves.csv"]:
    assert (tmp_path / name).stat().st_size > 1000
  table = pd.read_csv(tmp_path / "test_accuracy.csv").set_index("optimizer")
  assert list(table.index) == ["sgd", "adam"]
  assert table.loc["adam", "test_accuracy"] > 0.95
  assert table.loc["sgd", "learning_rate"] > table.loc["adam", "learning_rate"]
  grid = pd.read_csv(tmp_path / "learning_rates.csv")
  assert len(grid) == 2 * 3 and not grid.diverged.any()


def test_l2_vs_adamw_quick(tmp_path):
  run_study("l2-vs-adamw", tmp_path)
  assert (tmp_path / "l2_vs_adamw.png").stat().st_size > 1000
  sgd = pd.read_csv(tmp_path / "sgd_equivalence.csv")
  assert (sgd.max_abs_train_loss_difference <= 1e-6).all()  # SGD: L2 == decay 2 lambda
  adam = pd.read_csv(tmp_path / "adam_l2_vs_adamw.csv")
  strongest = adam[adam.matched_lambda == adam.matched_lambda.max()].set_index("method")
  # at lambda = 1, the L2 penalty inside Adam cripples the model; AdamW does not
  assert strongest.loc["AdamW", "val_accuracy"] > strongest.loc["Adam + L2", "val_accuracy"] + 0.2
  weak = adam[adam.matched_lambda == adam.matched_lambda.min()]
  assert np.ptp(weak.val_accuracy) < 0.02  # at 1e-4 the two barely differ


def test_random_search_quick(tmp_path):
  run_study("random-search", tmp_path)
  assert (tmp_path / "random_search.png").stat().st_size > 1000
  table = pd.read_csv(tmp_path / "random_search.csv")
  assert len(table) == 2 + 4  # gradient descent at four rates
  chosen = table[table.selected_on_validation]
  random, local, descent = chosen.test_accuracy
  assert 0.1 < random < local < descent and descent > 0.9
  assert chosen.train_loss.is_monotonic_decreasing
  assert table.train_loss.iloc[2:].is_monotonic_decreasing  # larger rates, lower training loss


def test_schedules_on_digits_quick(tmp_path):
  run_study("schedules-on-digits", tmp_path, "--schedules", "warmup_cosine,plateau,step")
  assert (tmp_path / "schedules_on_digits.png").stat().st_size > 1000
  table = pd.read_csv(tmp_path / "schedules_on_digits.csv").set_index("schedule")
  assert list(table.index) == ["warmup_cosine", "plateau", "step"]
  assert (table.test_accuracy > 0.9).all()
  np.testing.assert_allclose(table.loc["step", "final_rate"], 0.01 * table.loc["step", "peak_rate"])
  assert len(pd.read_csv(tmp_path / "peak_rates.csv")) == 3 * 2


def test_bad_options_are_one_line(tmp_path, capsys):
  assert cli.main(["digits-optimizers", "--quick", "--optimizers", "adam,shampoo"]) == 2
  assert cli.main(["schedules-on-digits", "--quick", "--schedules", "cosine,onecycle"]) == 2
  errors = capsys.readouterr().err.strip().splitlines()
  assert len(errors) == 2 and "unknown shampoo" in errors[0] and "unknown onecycle" in errors[1]
