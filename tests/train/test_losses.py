"""Losses and penalties: the lectures' linear-classifier example, torch's cross-entropy and
multi-margin loss, and NumPy formulas for L1, L2 and elastic net (weights only, not biases)."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx

from jaxopt_lab.train import losses
from jaxopt_lab.train.models import MLP, LinearClassifier

# The lectures' 3-class, 2-feature example: scores W x + b on nine points.
W = np.array([[1.03, 0.99], [-1.20, 0.74], [0.16, -1.72]])
B = np.array([-0.19, 0.02, 0.30])
POINTS = np.array([(0.5, 0.4, 0), (0.8, 0.3, 0), (0.3, 0.8, 0), (-0.4, 0.3, 1), (-0.3, 0.7, 1),
                   (-0.7, 0.2, 1), (0.7, -0.4, 2), (0.5, -0.6, 2), (-0.4, -0.5, 2)])
X, Y = POINTS[:, :2], POINTS[:, 2].astype(np.int32)
STRENGTH = 0.15849


def test_lecture_linear_classifier_example(x64):
  scores = X @ W.T + B
  data_loss = losses.multiclass_hinge(jnp.asarray(scores), jnp.asarray(Y))
  regularization = losses.l2({"W": W, "b": B}, STRENGTH)  # b is a vector: not penalised
  assert f"{float(data_loss):.2f}" == "0.08"
  assert f"{float(regularization):.2f}" == "1.11"
  assert f"{float(data_loss + regularization):.2f}" == "1.19"
  # the exact values behind the demo's rounding: per-point losses by hand
  np.testing.assert_allclose(float(data_loss), (0.341 + 0.296 + 0.035 + 0.034) / 9, rtol=1e-12)
  np.testing.assert_allclose(float(regularization), STRENGTH * np.sum(W ** 2), rtol=1e-12)


def test_lecture_example_through_a_linear_classifier_model():
  model = LinearClassifier(2, 3, rngs=nnx.Rngs(0))
  model.linear.kernel[...] = jnp.asarray(W.T, jnp.float32)
  model.linear.bias[...] = jnp.asarray(B, jnp.float32)
  params = nnx.state(model, nnx.Param)
  total = (losses.multiclass_hinge(model(jnp.asarray(X, jnp.float32)), jnp.asarray(Y))
           + losses.l2(params, STRENGTH))
  assert f"{float(total):.2f}" == "1.19"


def random_scores(seed=0, n=40, classes=7):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(n, classes)) * 3, rng.integers(0, classes, n), rng.uniform(size=n)


def test_cross_entropy_matches_torch(x64):
  scores, labels, _ = random_scores()
  ours = losses.softmax_cross_entropy(jnp.asarray(scores), jnp.asarray(labels))
  theirs = torch.nn.functional.cross_entropy(torch.tensor(scores), torch.tensor(labels))
  np.testing.assert_allclose(float(ours), theirs.item(), rtol=1e-12)


def test_hinge_matches_torch_multi_margin_times_classes(x64):
  scores, labels, _ = random_scores(seed=1)
  ours = losses.multiclass_hinge(jnp.asarray(scores), jnp.asarray(labels))
  theirs = torch.nn.functional.multi_margin_loss(torch.tensor(scores), torch.tensor(labels),
                                                  margin=1.0)
  np.testing.assert_allclose(float(ours), theirs.item() * scores.shape[1], rtol=1e-12)


@pytest.mark.parametrize("loss", [losses.softmax_cross_entropy, losses.multiclass_hinge])
def test_weighted_mean_is_the_mean_over_the_weighted_examples(loss, x64):
  scores, labels, weights = random_scores(seed=2)
  weights[::3] = 0.0
  per_example = jax.vmap(lambda s, l: loss(s[None], l[None]))(jnp.asarray(scores),
                                                              jnp.asarray(labels))
  ours = loss(jnp.asarray(scores), jnp.asarray(labels), jnp.asarray(weights))
  np.testing.assert_allclose(float(ours), np.sum(weights * per_example) / np.sum(weights),
                             rtol=1e-12)
  binary = jnp.asarray((weights > 0).astype(float))  # minibatch padding: mean of the kept ones
  kept = weights > 0
  np.testing.assert_allclose(float(loss(jnp.asarray(scores), jnp.asarray(labels), binary)),
                             float(loss(jnp.asarray(scores[kept]), jnp.asarray(labels[kept]))),
                             rtol=1e-12)
  zero = loss(jnp.asarray(scores), jnp.asarray(labels), jnp.zeros(len(labels)))
  assert float(zero) == 0.0


@functools.cache
def mlp_params():
  return nnx.state(MLP(5, (4, 3), 2, "tanh", rngs=nnx.Rngs(3)), nnx.Param)


def test_penalties_touch_weight_matrices_only():
  params = mlp_params()
  kernels = [np.asarray(v, np.float64) for v in jax.tree.leaves(params) if np.ndim(v) == 2]
  assert len(kernels) == 3 and len(jax.tree.leaves(params)) == 6
  l1 = sum(np.abs(k).sum() for k in kernels)
  l2 = sum((k ** 2).sum() for k in kernels)
  np.testing.assert_allclose(losses.l1(params, 0.3), 0.3 * l1, rtol=1e-6)
  np.testing.assert_allclose(losses.l2(params, 0.3), 0.3 * l2, rtol=1e-6)
  net = lambda ratio: losses.elastic_net(params, 0.3, ratio)
  np.testing.assert_allclose(net(0.25), 0.3 * (0.25 * l1 + 0.75 * l2), rtol=1e-6)
  np.testing.assert_allclose(net(1.0), losses.l1(params, 0.3), rtol=1e-6)
  np.testing.assert_allclose(net(0.0), losses.l2(params, 0.3), rtol=1e-6)
  mask = [bool(m) for m in jax.tree.leaves(losses.weight_mask(params))]
  assert mask == [np.ndim(v) >= 2 for v in jax.tree.leaves(params)]


def test_l2_gradient_is_two_lambda_w_and_zero_on_biases():
  params = mlp_params()
  grads = jax.grad(lambda p: losses.l2(p, 0.05))(params)
  for g, w in zip(jax.tree.leaves(grads), jax.tree.leaves(params)):
    expected = 2 * 0.05 * w if w.ndim >= 2 else jnp.zeros_like(w)
    np.testing.assert_allclose(g, expected, rtol=1e-6)


def test_strength_may_be_traced():
  params = mlp_params()
  values = jax.vmap(lambda s: losses.elastic_net(params, s, 0.5))(jnp.array([0.0, 1.0, 2.0]))
  np.testing.assert_allclose(values, [0.0, values[1], 2 * values[1]], rtol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda p: losses.l2(p, -1.0), r"l2\(strength=-1.0\): strength must be in \[0, inf\)"),
    (lambda p: losses.l1(p, float("nan")), "l1"),
    (lambda p: losses.elastic_net(p, 1.0, 1.5), r"l1_ratio must be in \[0, 1\]"),
])
def test_bad_strengths_are_refused(call, message):
  with pytest.raises(ValueError, match=message):
    call(mlp_params())
