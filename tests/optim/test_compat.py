"""Drop-in compatibility: our optimizers inside optax chains, against optax's own optimizers
where the algorithms agree, and inside flax.nnx.Optimizer."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxopt_lab as jl
from helpers import multi_leaf_problem, run

SAME_ALGORITHM = {
    "sgd": (jl.sgd(0.1), optax.sgd(0.1)),
    "momentum": (jl.momentum(0.05, 0.8), optax.sgd(0.05, momentum=0.8)),
    "nesterov": (jl.nesterov(0.05, 0.8), optax.sgd(0.05, momentum=0.8, nesterov=True)),
    "adam": (jl.adam(0.01, 0.8, 0.99, 1e-8), optax.adam(0.01, 0.8, 0.99, 1e-8)),
    "adamw": (jl.adamw(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1),
              optax.adamw(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1)),
    "clipped adam": (optax.chain(optax.clip_by_global_norm(0.5), jl.adam(0.01)),
                     optax.chain(optax.clip_by_global_norm(0.5), optax.adam(0.01))),
    "our clip, optax sgd": (optax.chain(jl.clip_by_global_norm(0.5), optax.sgd(0.1)),
                            optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(0.1))),
    "scheduled momentum": (jl.momentum(optax.exponential_decay(0.05, 1, 0.97), 0.8),
                           optax.sgd(optax.exponential_decay(0.05, 1, 0.97), momentum=0.8)),
}


@pytest.mark.parametrize("name", SAME_ALGORITHM)
def test_matches_optax_where_the_algorithm_is_the_same(name, x64):
  ours, theirs = SAME_ALGORITHM[name]
  loss, params = multi_leaf_problem()
  path = run(ours, loss, params, 50)
  assert np.abs(path[-1] - path[0]).max() > 1e-2
  np.testing.assert_allclose(path, run(theirs, loss, params, 50), rtol=1e-10, atol=1e-12)


def test_optax_wrappers_accept_our_transforms():
  loss, params = multi_leaf_problem()
  optimizer = optax.MultiSteps(optax.chain(jl.adam(0.01), optax.add_noise(0.0, 0.5, 0)), 2)
  path = run(optimizer, loss, params, 6)
  assert np.all(path[1] == path[0]) and np.any(path[2] != path[0])  # applies every 2nd step


class Regressor(nnx.Module):
  def __init__(self, rngs):
    self.hidden = nnx.Linear(4, 8, rngs=rngs)
    self.out = nnx.Linear(8, 1, rngs=rngs)

  def __call__(self, x):
    return self.out(jnp.tanh(self.hidden(x)))[:, 0]


def train_with_nnx(tx, steps=60):
  model = Regressor(nnx.Rngs(0))
  optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
  x = jax.random.normal(jax.random.key(1), (32, 4))
  y = jnp.sin(x.sum(1))

  @nnx.jit
  def step(model, optimizer):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    optimizer.update(model, grads)
    return loss

  losses = [float(step(model, optimizer)) for _ in range(steps)]
  return losses, nnx.state(model, nnx.Param)


def test_flax_nnx_optimizer_trains_with_our_adamw():
  losses, ours = train_with_nnx(jl.adamw(0.01, weight_decay=0.1))
  _, theirs = train_with_nnx(optax.adamw(0.01, weight_decay=0.1))
  assert losses[-1] < 0.5 * losses[0]
  for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
