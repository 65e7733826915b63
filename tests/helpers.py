"""Running an optimizer for a few steps, shared by the tests."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree


def trajectory(optimizer: optax.GradientTransformation, loss, params, steps: int) -> jax.Array:
  """Iterates w1..w_steps of `optimizer` on `loss`, raveled to flat vectors (pure, traceable)."""

  def step(carry, _):
    params, state = carry
    updates, state = optimizer.update(jax.grad(loss)(params), state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), ravel_pytree(params)[0]

  params = jax.tree.map(jnp.asarray, params)
  return jax.lax.scan(step, (params, optimizer.init(params)), length=steps)[1]


def run(optimizer: optax.GradientTransformation, loss, params, steps: int) -> np.ndarray:
  """Iterates [w0, ..., w_steps] as a NumPy array, compiled with jit."""
  params = jax.tree.map(jnp.asarray, params)
  path = jax.jit(lambda p: trajectory(optimizer, loss, p, steps))(params)
  return np.concatenate([ravel_pytree(params)[0][None], path])


def multi_leaf_problem(seed: int = 0):
  """A smooth, non-quadratic loss on three leaves (robust regression, a tanh layer, a quartic)."""
  rng = np.random.default_rng(seed)
  x, y, z = rng.normal(size=(20, 5)), rng.normal(size=20), rng.normal(size=(20, 3))
  params = {"w": rng.normal(size=5), "W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}

  def loss(p):
    residual = x @ p["w"] - y
    hidden = jnp.tanh(z @ p["W"] + p["b"])
    return jnp.mean(jnp.log1p(residual ** 2)) + jnp.mean(hidden ** 2) + 0.01 * jnp.sum(p["W"] ** 4)

  return loss, params
