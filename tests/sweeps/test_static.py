"""Static axes: one compiled program per combination, one table with a column per static axis,
each combination resumable in its own folder; an empty axis or a bad batch size is one line."""
import functools

import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.sweeps import leaderboard, run_sweep
from jaxopt_lab.sweeps.static import (
    _joined, combinations, run_static_sweep, static_winners_curse)
from jaxopt_lab.train import MLP

DATA = jl.train.blobs(90, 3, seed=0)


@functools.cache  # one Task per option: its compiled programs are shared by the tests
def make_task(batch_size, widths=(4,)):
  return jl.sweeps.supervised_task(
      lambda rngs: MLP(2, widths, 3, "relu", rngs=rngs),
      lambda h: optax.sgd(h["learning_rate"]), DATA, steps=4, batch_size=batch_size,
      eval_every=2)


COLUMNS = {"learning_rate": np.array([0.01, 0.3])}


def test_one_table_with_a_column_per_static_axis_and_a_folder_each(tmp_path):
  static = {"batch_size": [8, 16], "widths": [(4,)]}
  result = run_static_sweep(make_task, static, COLUMNS, [0, 1], out=tmp_path, progress=False)
  table = result.table
  assert len(table) == 2 * 2 * 2 and table.config.nunique() == 4
  assert list(table.columns[:4]) == ["config", "batch_size", "widths", "learning_rate"]
  assert set(table.widths) == {"4"} and table.batch_size.tolist() == [8] * 4 + [16] * 4
  assert result.hyperparameters == ["batch_size", "widths", "learning_rate"]
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "static-batch_size-16_widths-4", "static-batch_size-8_widths-4"]
  alone = run_sweep(result.tasks[1].run, COLUMNS, [0, 1], progress=False)  # its own program
  np.testing.assert_array_equal(result.curves["val_loss"][4:], alone.curves["val_loss"])
  assert not np.array_equal(result.curves["val_loss"][:4], alone.curves["val_loss"])
  board = leaderboard(table, result.hyperparameters, result.objective)
  curse = static_winners_curse(result, board, 2, [7], progress=False)
  assert curse.config.tolist() == board.config.head(2).tolist()
  assert {"batch_size", "widths", "fresh_mean"} <= set(curse.columns)
  # the same call resumes every combination from its folder
  again = run_static_sweep(make_task, static, COLUMNS, [0, 1], out=tmp_path, progress=False)
  assert [r.chunks_computed for r in again.results] == [0, 0]
  assert again.table.equals(table)


def test_curves_a_combination_lacks_are_nan():
  shallow = {"dead_relu_1": np.zeros((2, 3))}
  deep = {"dead_relu_1": np.ones((1, 3)), "dead_relu_2": np.ones((1, 3))}
  joined = _joined([shallow, deep])
  assert joined["dead_relu_1"].tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
  assert np.isnan(joined["dead_relu_2"][:2]).all() and (joined["dead_relu_2"][2] == 1).all()


def test_without_static_axes_the_folder_is_the_sweep_itself(tmp_path):
  result = run_static_sweep(lambda: make_task(8), {}, COLUMNS, [0, 1], out=tmp_path,
                            progress=False)
  assert (tmp_path / "sweep.json").exists() and len(result.table) == 4


@pytest.mark.parametrize("static, message", [
    ({"batch_size": []}, "run_static_sweep(static['batch_size']=[]): an axis must be a "
                         "non-empty list of values, got []"),
    ({"batch_size": [8, 0.5]}, "supervised_task(batch_size=0.5): batch_size must be an integer "
                               "in [1, 54], got 0.5"),
    ({"batch_size": [0]}, "supervised_task(batch_size=0): batch_size must be in [1, 54], got 0"),
])
def test_bad_static_axes_are_one_line(static, message):
  with pytest.raises(ValueError) as error:
    run_static_sweep(make_task, static, COLUMNS, progress=False)
  assert str(error.value) == message


def test_combinations_follow_product_order():
  assert combinations({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
