"""Vanishing and exploding gradients in a deep MLP, measured the way the lectures explain them.

  params = init_mlp(jax.random.key(0), depth=20, width=64, gain=1.0)   # W ~ N(0, gain^2 / fan_in)
  norms = layer_gradient_norms(params, x, y, "sigmoid")         # ||dL/dW_l||_F, l = 1..depth
  sigma = layer_jacobian_singular_values(params, x, "sigmoid")  # of each dh_l/dh_{l-1}: [n, width]
  sigma_all = product_jacobian_singular_values(params, x, "sigmoid")  # of dh_l/dx: [L-1, n, width]
  dead = dead_relu_fraction(params, x)                          # per hidden layer
  run = train(params, x, y, "relu", optax.chain(clip_by_global_norm(1.0), sgd(0.1)), steps=50)

The network is h_0 = x, z_l = h_{l-1} W_l + b_l, h_l = act(z_l) for l = 1..L-1, and logits
z_L = h_{L-1} W_L + b_L. Backpropagation multiplies the upstream gradient by J_l^T for every
layer, J_l = dh_l/dh_{l-1} = diag(act'(z_l)) W_l^T, so the gradient reaching layer 1 passes
through the product J_{L-1} ... J_2. Where the layers' singular values sit below 1 (sigmoid:
act' <= 1/4) that product shrinks exponentially with depth and the first layers stop learning;
above 1 (a too-large init) it explodes. A standard init keeps them near 1: gain 1 (LeCun, which
is Xavier for square layers) for tanh and sigmoid, gain sqrt(2) (He) for ReLU.
"""
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import POSITIVE, Interval, check, check_int
from jaxopt_lab.train.losses import softmax_cross_entropy
from jaxopt_lab.train.models import ACTIVATIONS

STANDARD_GAIN = {"sigmoid": 1.0, "tanh": 1.0, "relu": math.sqrt(2.0)}
"""The lectures' initialisation for each activation studied here: Xavier/LeCun, and He for ReLU."""

Params = list[dict[str, jax.Array]]  # one {"w": [fan_in, fan_out], "b": [fan_out]} per layer


def init_mlp(key: jax.Array, depth: int, width: int = 64, in_features: int = 64,
             num_classes: int = 10, gain: float = 1.0) -> Params:
  """`depth` weight layers (depth - 1 >= 1 hidden layers of `width`): W_l ~ N(0, gain^2 / fan_in),
  b_l = 0, in float32 (upcast them for a float64 analysis)."""
  check_int("init_mlp", depth=(depth, Interval(2, math.inf)), width=(width, Interval(1, math.inf)))
  check("init_mlp", gain=(gain, POSITIVE))
  sizes = [in_features] + [width] * (depth - 1) + [num_classes]
  shapes = list(zip(sizes[:-1], sizes[1:]))
  ends = np.cumsum([0] + [fan_in * fan_out for fan_in, fan_out in shapes])
  draws = jax.random.normal(key, (int(ends[-1]),), jnp.float32)  # one draw: one compiled kernel
  return [{"w": gain / math.sqrt(fan_in) * draws[start:end].reshape(fan_in, fan_out),
           "b": jnp.zeros(fan_out, jnp.float32)}
          for start, end, (fan_in, fan_out) in zip(ends[:-1], ends[1:], shapes)]


def _activation(name: str):
  if name not in STANDARD_GAIN:
    raise ValueError(f"gradient_flow(activation={name!r}): activation must be one of "
                     f"{', '.join(STANDARD_GAIN)}")
  return ACTIVATIONS[name]


def forward(params: Params, x: jax.Array, activation: str) -> tuple[jax.Array, list[jax.Array]]:
  """Logits z_L and the hidden pre-activations [z_1, ..., z_{L-1}]."""
  act = _activation(activation)
  h, preactivations = x, []
  for layer in params[:-1]:
    z = h @ layer["w"] + layer["b"]
    preactivations.append(z)
    h = act(z)
  return h @ params[-1]["w"] + params[-1]["b"], preactivations


def loss(params: Params, x: jax.Array, y: jax.Array, activation: str) -> jax.Array:
  """Mean softmax cross-entropy of the MLP's logits."""
  return softmax_cross_entropy(forward(params, x, activation)[0], y)


def gradient_norms(grads: Params) -> jax.Array:
  """||dL/dW_l||_F for every layer l = 1..L (the weights only; biases follow the same trend)."""
  return jnp.stack([jnp.linalg.norm(layer["w"]) for layer in grads])


@partial(jax.jit, static_argnames="activation")
def layer_gradient_norms(params: Params, x: jax.Array, y: jax.Array, activation: str) -> jax.Array:
  """||dL/dW_l||_F, l = 1..L, at `params`: the per-layer picture of vanishing/exploding."""
  return gradient_norms(jax.grad(loss)(params, x, y, activation))


def layer_jacobians(params: Params, x: jax.Array, activation: str) -> list[jax.Array]:
  """J_l = dh_l/dh_{l-1} = diag(act'(z_l)) W_l^T for each hidden layer l = 1..L-1 and input:
  a list of [n, fan_out, fan_in] arrays (jax.jacfwd of one layer, vmapped over the inputs)."""
  act = _activation(activation)
  _, preactivations = forward(params, x, activation)
  inputs = [x] + [act(z) for z in preactivations[:-1]]
  jacobians = []
  for layer, h in zip(params[:-1], inputs):
    step = lambda h, layer=layer: act(h @ layer["w"] + layer["b"])
    jacobians.append(jax.vmap(jax.jacfwd(step))(h))
  return jacobians


@partial(jax.jit, static_argnames="activation")
def layer_jacobian_singular_values(params: Params, x: jax.Array,
                                   activation: str) -> list[jax.Array]:
  """Singular values of each hidden layer's J_l per input: a list of [n, min(fan_in, fan_out)],
  largest first. Backpropagation through layer l scales a gradient by between the smallest
  and the largest of them."""
  return [jnp.linalg.svd(j, compute_uv=False) for j in layer_jacobians(params, x, activation)]


@partial(jax.jit, static_argnames="activation")
def product_jacobian_singular_values(params: Params, x: jax.Array, activation: str) -> jax.Array:
  """Singular values of dh_l/dx = J_l ... J_1 for l = 1..L-1 and each input:
  [L - 1, n, min(width, features)], largest first. The gradient reaching layer 1 from layer l
  is scaled by these. They span many orders of magnitude: compute in float64
  (`jax.enable_x64`) to resolve the small ones."""
  product, values = None, []
  for jacobian in layer_jacobians(params, x, activation):
    product = jacobian if product is None else jacobian @ product
    values.append(jnp.linalg.svd(product, compute_uv=False))
  return jnp.stack(values)


@jax.jit
def dead_relu_fraction(params: Params, x: jax.Array) -> jax.Array:
  """Per hidden layer, the fraction of ReLUs that output 0 for every input in `x` (z_l <= 0):
  a dead unit passes no gradient, so it never recovers."""
  _, preactivations = forward(params, x, "relu")
  return jnp.stack([jnp.mean(jnp.all(z <= 0, axis=0)) for z in preactivations])


class TrainingRun(NamedTuple):
  params: Params
  losses: jax.Array          # [steps + 1]: before each step, and after the last
  gradient_norms: jax.Array  # [steps, L]: ||dL/dW_l||_F at each step, before any clipping


@partial(jax.jit, static_argnames=("activation", "optimizer", "steps"))
def train(params: Params, x: jax.Array, y: jax.Array, activation: str,
          optimizer: optax.GradientTransformation, steps: int) -> TrainingRun:
  """Full-batch training for `steps` steps (a lax.scan), recording the loss and per-layer norms."""

  def step(carry, _):
    params, state = carry
    value, grads = jax.value_and_grad(loss)(params, x, y, activation)
    updates, state = optimizer.update(grads, state, params)
    return (optax.apply_updates(params, updates), state), (value, gradient_norms(grads))

  (params, _), (losses, norms) = jax.lax.scan(step, (params, optimizer.init(params)),
                                              length=steps)
  return TrainingRun(params, jnp.append(losses, loss(params, x, y, activation)), norms)
