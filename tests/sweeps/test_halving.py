"""Successive halving's mechanics on a small MLP on blobs: rung sizes, survivors are the best
by the objective, a continued run equals an uninterrupted one, diverged runs stop after the
first rung, the run-steps are counted; bad eta and budgets are one line."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.sweeps import leaderboard, successive_halving
from jaxopt_lab.sweeps.halving import rung_budgets
from jaxopt_lab.train import MLP

TASK = jl.sweeps.supervised_task(lambda rngs: MLP(2, (8,), 3, "relu", rngs=rngs),
                                 lambda h: optax.sgd(h["learning_rate"]),
                                 jl.train.blobs(120, 3, seed=0), steps=8, batch_size=16,
                                 eval_every=2)
RATES = np.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 1e20], np.float32)  # 1e20 diverges


@pytest.fixture(scope="module")
def halving():
  return successive_halving(TASK, {"learning_rate": RATES}, seeds=[0], eta=2, min_steps=2,
                            chunk_size=2)


def test_rungs_halve_the_configurations_and_count_the_run_steps(halving):
  assert rung_budgets(8, 2, 2) == [2, 4, 8] and rung_budgets(540, 60, 3) == [60, 180, 540]
  assert halving.rungs.configurations.tolist() == [8, 4, 2]
  assert halving.rungs.steps.tolist() == [2, 4, 8]
  assert halving.run_steps == 8 * 2 + 4 * 2 + 2 * 4 == halving.rungs.run_steps.sum()
  assert halving.full_run_steps == 8 * 8
  assert sorted(halving.table.steps.tolist()) == [2, 2, 2, 2, 4, 4, 8, 8]


def test_survivors_are_the_best_by_the_objective_at_each_rung(halving):
  table, curves = halving.table, halving.curves
  for budget, survivors in ((2, table.steps > 2), (4, table.steps > 4)):
    evaluations = budget // 2
    ran = table.steps >= budget
    score = np.nanmax(curves["val_accuracy"][:, :evaluations], axis=1)
    loss = np.min(np.nan_to_num(curves["val_loss"][:, :evaluations], nan=np.inf), axis=1)
    order = sorted(np.flatnonzero(ran & ~table.diverged.to_numpy()),
                   key=lambda row: (-score[row], loss[row]))
    assert set(np.flatnonzero(survivors)) == set(order[:ran.sum() // 2])
  assert halving.board.config.tolist()[0] in table.config[table.steps == 8].tolist()


def test_a_continued_run_equals_an_uninterrupted_one(halving):
  rows = np.flatnonzero(halving.table.steps == 8)
  hparams = {"learning_rate": jnp.asarray(RATES[rows])}
  whole = jax.jit(jax.vmap(lambda h, key: TASK.run(h, key)))(
      hparams, jax.vmap(jax.random.key)(jnp.zeros(len(rows), jnp.uint32)))
  for name in ("train_loss", "val_loss", "val_accuracy", "update_ratio_1"):
    np.testing.assert_allclose(halving.curves[name][rows], whole[name], rtol=1e-6, atol=1e-7)


def test_diverged_runs_stop_after_the_first_rung(halving):
  row = int(np.flatnonzero(RATES == 1e20)[0])
  assert halving.table.diverged[row] and halving.table.steps[row] == 2
  assert np.isnan(halving.curves["train_loss"][row, 2:]).all()
  board = leaderboard(halving.table[halving.table.steps == 8], ["learning_rate"],
                      TASK.objective)
  assert board.config.tolist() == halving.board.config.tolist()


@pytest.mark.parametrize("options, message", [
    (dict(eta=1), "successive_halving(eta=1): eta must be in [2, inf), got 1"),
    (dict(eta=2.5), "successive_halving(eta=2.5): eta must be an integer"),
    (dict(min_steps=10), "successive_halving(min_steps=10): min_steps (the first rung's budget) "
                         "must be a multiple of the task's eval_every 2 in [2, 8]"),
    (dict(min_steps=3), "successive_halving(min_steps=3): min_steps"),
    (dict(min_steps=0), "successive_halving(min_steps=0): min_steps"),
])
def test_bad_eta_and_budgets_are_one_line(options, message):
  with pytest.raises(ValueError) as error:
    successive_halving(TASK, {"learning_rate": RATES}, **options)
  assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_task_that_cannot_resume_is_one_line():
  task = jl.sweeps.quadratic_task("sgd", [1.0, 0.1], steps=4)
  with pytest.raises(ValueError, match=r"^successive_halving\(task='quadratic-2-sgd-4'\): task "
                                       r"must be resumable"):
    successive_halving(task, {"learning_rate": RATES})
