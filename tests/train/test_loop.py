"""The pure training loop: equal to a plain Python loop over `data.minibatch` batches, one trace
for any learning rates under vmap, equal rows, metrics as sklearn computes them."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from digits_runs import (
    OPTIONS, RATES, SEEDS, STRENGTHS, TRACES, digits_runs, digits_set, make_digits_model,
    single_run)
from helpers import run_compiled
from jaxopt_lab.train import losses
from jaxopt_lab.train.data import blobs, digits, minibatch
from jaxopt_lab.train.data_parallel import data_mesh
from jaxopt_lab.train.models import MLP
from jaxopt_lab.optim.aliases import adam
from jaxopt_lab.train.loop import (
    classification_metrics, evaluate, evaluation_steps, run_curves, train, trained_model)
from jaxopt_lab.train.regularizers import Regularization



def make_blobs_model(rngs):
  return MLP(2, (8,), 3, "tanh", rngs=rngs)


@pytest.mark.parametrize("steps, every, expected", [
    (100, 25, [25, 50, 75, 100]), (100, 30, [30, 60, 90, 100]), (10, 25, [10]), (1, 1, [1])])
def test_evaluation_steps(steps, every, expected):
  np.testing.assert_array_equal(evaluation_steps(steps, every), expected)


def reference_loop(rate, strength, key):
  """Row 1 written out as a Python loop over `data.minibatch`: the gradient of the batch's
  weighted mean loss plus 2 lambda W on the weight matrices, then Adam."""
  data, optimizer = digits_set(), adam(rate)
  init_key, batch_key = jax.random.split(key)
  graphdef, params = nnx.split(make_digits_model(nnx.Rngs(init_key)), nnx.Param)

  @jax.jit
  def step(params, state, index, weights):
    def loss(params):
      logits = nnx.merge(graphdef, params)(data.x_train[index])
      return losses.softmax_cross_entropy(logits, data.y_train[index], weights)
    value, grads = jax.value_and_grad(loss)(params)
    grads = jax.tree.map(lambda g, w: g + 2 * strength * w if w.ndim >= 2 else g, grads, params)
    updates, state = optimizer.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    logits = nnx.merge(graphdef, params)(data.x_val)
    return params, state, value, jnp.mean(jnp.argmax(logits, -1) == data.y_val)

  batch = jax.jit(minibatch, static_argnums=(2, 3))
  state, values, accuracies = optimizer.init(params), [], []
  for t in range(OPTIONS["steps"]):
    index, weights = batch(batch_key, t, data.train_size, OPTIONS["batch_size"])
    params, state, value, accuracy = step(params, state, index, weights)
    values.append(float(value))
    accuracies.append(float(accuracy))
  return np.array(values), np.array(accuracies), params


def test_equals_a_python_loop_over_minibatches():
  alone = single_run()
  values, accuracies, params = reference_loop(RATES[1], STRENGTHS[1], jax.random.key(SEEDS[1]))
  np.testing.assert_allclose(alone.train_loss, values, rtol=1e-4, atol=1e-6)
  marks = evaluation_steps(OPTIONS["steps"], OPTIONS["eval_every"])
  np.testing.assert_array_equal(marks, [40, 80, 100])
  np.testing.assert_allclose(alone.val_accuracy, accuracies[marks - 1], atol=1e-6)
  for ours, theirs in zip(jax.tree.leaves(alone.params), jax.tree.leaves(params)):
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_vmap_over_hyperparameters_traces_once_and_equals_a_single_run():
  (together, traces), alone = digits_runs(), single_run()
  assert traces == 1
  assert together.train_loss.shape == (4, 100) and together.val_accuracy.shape == (4, 3)
  np.testing.assert_allclose(together.train_loss[1], alone.train_loss, rtol=2e-4, atol=1e-6)
  np.testing.assert_allclose(together.val_accuracy[1], alone.val_accuracy, atol=1 / 360 + 1e-6)
  assert not np.array_equal(together.train_loss[1], together.train_loss[2])  # another seed


def test_adam_learns_digits_and_the_step_size_matters():
  together, _ = digits_runs()
  accuracy = np.asarray(together.test.accuracy)
  assert accuracy[1] > 0.9 and accuracy[1] > accuracy[0] + 0.2  # 1e-2 beats 1e-4 by far
  loss = np.asarray(together.train_loss[1])
  assert loss[-10:].mean() < 0.2 * loss[:10].mean()


def test_trained_model_reproduces_the_final_metrics():
  alone, data = single_run(), digits_set()
  metrics = evaluate(trained_model(make_digits_model, alone.params), data.x_test, data.y_test)
  np.testing.assert_allclose(metrics.accuracy, alone.test.accuracy)
  np.testing.assert_allclose(metrics.loss, alone.test.loss, rtol=1e-5)
  np.testing.assert_allclose(alone.val.accuracy, alone.val_accuracy[-1])


def test_metrics_match_sklearn():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 5, 200)
  logits = rng.normal(size=(200, 5)) + 2.0 * np.eye(5)[labels]
  logits[:, 3] -= 10  # class 3 is never predicted: precision 0 by convention
  metrics = classification_metrics(jnp.asarray(logits, jnp.float32), jnp.asarray(labels))
  predicted = logits.argmax(1)
  precision, recall, _, _ = precision_recall_fscore_support(labels, predicted, zero_division=0)
  np.testing.assert_allclose(metrics.precision, precision, rtol=1e-6)
  np.testing.assert_allclose(metrics.recall, recall, rtol=1e-6)
  np.testing.assert_array_equal(metrics.confusion, confusion_matrix(labels, predicted))
  np.testing.assert_allclose(metrics.accuracy, np.mean(predicted == labels))
  assert metrics.precision[3] == 0 and metrics.recall[3] == 0


def test_bad_arguments():
  data = blobs()
  with pytest.raises(ValueError, match=r"train\(batch_size=500\): batch_size must be"):
    train(make_blobs_model, adam(), data, jax.random.key(0), steps=10, batch_size=500)
  with pytest.raises(ValueError, match=r"train\(eval_every=0\)"):
    train(make_blobs_model, adam(), data, jax.random.key(0), steps=10, batch_size=8,
          eval_every=0)

  class Normalised(nnx.Module):
    def __init__(self, rngs):
      self.norm = nnx.BatchNorm(2, rngs=rngs)

  with pytest.raises(ValueError, match="state other than nnx.Param"):
    train(Normalised, adam(), data, jax.random.key(0), steps=10, batch_size=8)


REGULARIZERS = ["dropout", "label_smoothing", "mixup", "max_shift", "max_degrees", "cutout_size",
                "flip"]


@functools.cache
def regularized_runs():
  """Row 1's run again with every regularizer in the program: row 0 with all strengths 0, then
  one row per regularizer at a moderate strength (one compiled program)."""
  digits_set()
  strengths = np.zeros((1 + len(REGULARIZERS), len(REGULARIZERS)), np.float32)
  strengths[1:] = np.diag([0.3, 0.1, 0.4, 1, 15, 3, 0.5])

  def run(row, key):
    regularization = Regularization(**dict(zip(REGULARIZERS, row)))
    return train(make_digits_model, adam(RATES[1]), digits_set(), key,
                 penalty=lambda params: losses.l2(params, STRENGTHS[1]),
                 regularization=regularization, **OPTIONS)

  keys = jax.vmap(jax.random.key)(jnp.full(len(strengths), SEEDS[1]))
  return run_compiled(jax.vmap(run), jnp.asarray(strengths), keys)


def test_regularizers_at_strength_0_are_the_plain_run_and_each_one_acts():
  runs, alone = regularized_runs(), single_run()
  # strength 0: the same run (augmentation goes through pixels and back: rounding only)
  np.testing.assert_allclose(runs.train_loss[0], alone.train_loss, rtol=1e-3, atol=1e-5)
  for row, name in enumerate(REGULARIZERS, start=1):
    assert not np.allclose(runs.train_loss[row], runs.train_loss[0], rtol=1e-2), name
    assert runs.val_accuracy[row, -1] > 0.6, name         # still learns digits
  # dropout acts in training only: the returned metrics are the deterministic model's
  dropped = jax.tree.map(lambda leaf: leaf[1], runs)
  model = trained_model(make_digits_model, dropped.params)
  np.testing.assert_allclose(evaluate(model, digits_set().x_test, digits_set().y_test).accuracy,
                             dropped.test.accuracy)


def test_run_statistics_per_evaluation():
  alone = single_run()
  evaluations = len(evaluation_steps(OPTIONS["steps"], OPTIONS["eval_every"]))
  assert alone.update_ratio.shape == (evaluations, 2)       # hidden and output kernels
  assert alone.dead_fraction.shape == (evaluations, 1)      # one hidden layer
  assert (alone.nonfinite_steps == 0).all()
  assert ((alone.update_ratio > 1e-5) & (alone.update_ratio < 1e-1)).all()
  curves = run_curves(alone)
  assert {"update_ratio_1", "update_ratio_2", "dead_relu_1", "nonfinite_steps"} <= set(curves)


def test_regularizer_misuse_is_one_line():
  data = blobs()
  with pytest.raises(ValueError, match=r"Regularization\(max_shift=1\): max_shift must be None "
                                       r"for 'blobs', which holds no images"):
    train(make_blobs_model, adam(), data, jax.random.key(0), steps=10, batch_size=8,
          regularization=Regularization(max_shift=1))
  with pytest.raises(ValueError, match=r"train\(loss=...\): loss must be softmax_cross_entropy"):
    train(make_blobs_model, adam(), data, jax.random.key(0), steps=10, batch_size=8,
          loss=losses.multiclass_hinge, regularization=Regularization(label_smoothing=0.1))

  class Plain(nnx.Module):
    def __init__(self, rngs):
      self.linear = nnx.Linear(2, 3, rngs=rngs)

    def __call__(self, x):
      return self.linear(x)

  with pytest.raises(ValueError, match=r"dropout needs a model called as model\(x, "
                                       r"dropout_rate=..., key=...\), got Plain"):
    train(Plain, adam(), data, jax.random.key(0), steps=10, batch_size=8,
          regularization=Regularization(dropout=0.5))
  with pytest.raises(ValueError, match=r"dropout must be None with a mesh"):
    train(make_blobs_model, adam(), data, jax.random.key(0), steps=10, batch_size=8,
          mesh=data_mesh(jax.devices()[:1]), regularization=Regularization(dropout=0.5))
