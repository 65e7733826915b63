"""Classification losses and weight penalties, as pure functions of arrays and parameter pytrees.

  data_loss = softmax_cross_entropy(logits, labels)          # or multiclass_hinge(scores, labels)
  total = data_loss + l2(params, strength=1e-4)              # lambda * sum of squared weights

Data losses are means over the batch, weighted when `weights` is given: sum_i w_i L_i / sum_i w_i,
so a minibatch padded with weight-0 slots (`jaxopt_lab.train.data.minibatch`) gives the exact mean
over its real examples (and a shard holding only padding, 0).

Penalties act on weight matrices only: a leaf of the parameter pytree is a weight when it has
ndim >= 2 (dense kernels [in, out], convolution kernels); vectors and scalars (biases, the
scale and offset of normalisation layers) are not penalised, as the lectures teach. Call a
penalty on one model's parameters; for a stack of models, vmap it (inside vmap each leaf has its
unstacked shape). `weight_mask` gives the same choice as a pytree of booleans, for
`optax.masked` (e.g. decoupled weight decay on the same leaves an L2 penalty touches).
"""
import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, PROBABILITY, check


def _weighted_mean(values: jax.Array, weights) -> jax.Array:
  if weights is None:
    return jnp.mean(values)
  total = jnp.sum(weights)
  return jnp.sum(weights * values) / jnp.where(total > 0, total, 1.0)  # 0 if all weights are 0


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array, weights=None) -> jax.Array:
  """Mean over examples of L_i = -log softmax(s_i)[y_i] = logsumexp(s_i) - s_{i, y_i}.

  logits [n, classes], labels int [n] or target probabilities [n, classes] (then
  L_i = -sum_k q_ik log softmax(s_i)_k, as for label smoothing and mixup), optional weights
  [n] (a weighted mean). torch.nn.functional.cross_entropy with reduction "mean", which also
  takes either kind of target.
  """
  if jnp.ndim(labels) == jnp.ndim(logits):   # probabilities: optax's cross-entropy
    return _weighted_mean(optax.softmax_cross_entropy(logits, labels), weights)
  log_probabilities = jax.nn.log_softmax(logits, axis=-1)
  picked = jnp.take_along_axis(log_probabilities, labels[:, None], axis=-1)[:, 0]
  return _weighted_mean(-picked, weights)


def multiclass_hinge(scores: jax.Array, labels: jax.Array, weights=None,
                     margin: float = 1.0) -> jax.Array:
  """The multiclass SVM loss (Weston & Watkins), mean over examples of
  L_i = sum_{j != y_i} max(0, s_ij - s_{i, y_i} + margin).

  torch.nn.functional.multi_margin_loss divides each L_i by the number of classes as well.
  """
  correct = jnp.take_along_axis(scores, labels[:, None], axis=-1)
  violations = jnp.maximum(0.0, scores - correct + margin)
  is_correct = jax.nn.one_hot(labels, scores.shape[-1], dtype=bool)
  per_example = jnp.sum(jnp.where(is_correct, 0.0, violations), axis=-1)
  return _weighted_mean(per_example, weights)


def is_weight(leaf: jax.Array) -> bool:
  """Whether a penalty touches this leaf: weight matrices and kernels (ndim >= 2), not biases."""
  return jnp.ndim(leaf) >= 2


def weight_mask(params):
  """The pytree of `params` with True on weights and False on biases, for `optax.masked`."""
  return jax.tree.map(is_weight, params)


def _weights(params) -> list:
  return [leaf for leaf in jax.tree.leaves(params) if is_weight(leaf)]


def l1(params, strength) -> jax.Array:
  """R(W) = lambda * sum_k |W_k| over the weights (lasso; pushes weights to exactly 0)."""
  check("l1", strength=(strength, NONNEGATIVE))
  return strength * sum(jnp.sum(jnp.abs(w)) for w in _weights(params))


def l2(params, strength) -> jax.Array:
  """R(W) = lambda * sum_k W_k^2 over the weights; its gradient is 2 lambda W.

  The lectures' form, without a 1/2: with SGD it equals decoupled weight decay 2 lambda.
  """
  check("l2", strength=(strength, NONNEGATIVE))
  return strength * sum(jnp.sum(jnp.square(w)) for w in _weights(params))


def elastic_net(params, strength, l1_ratio=0.5) -> jax.Array:
  """R(W) = lambda * sum_k (rho |W_k| + (1 - rho) W_k^2), rho = l1_ratio in [0, 1]:
  `l1` at rho = 1, `l2` at rho = 0 (Zou & Hastie 2005, without sklearn's 1/2 on the square)."""
  check("elastic_net", strength=(strength, NONNEGATIVE), l1_ratio=(l1_ratio, PROBABILITY))
  return strength * sum(jnp.sum(l1_ratio * jnp.abs(w) + (1 - l1_ratio) * jnp.square(w))
                        for w in _weights(params))
