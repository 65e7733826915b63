"""Real runs of jaxopt_lab optimizers on quadratics f(w) = 1/2 w^T H w (minimum at w = 0), for
the theory studies: every configuration in one vmapped, compiled program, in float64.

  paths = iterates(jaxopt_lab.momentum, {"learning_rate": lrs, "beta": betas}, hessian, w0, 100)
"""
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax


def _runs(factory: Callable[..., optax.GradientTransformation], hyperparameters: dict,
          hessians, start, steps: int, observe: Callable) -> np.ndarray:
  names = list(hyperparameters)
  columns = np.broadcast_arrays(*[np.asarray(v, np.float64) for v in hyperparameters.values()])
  count = columns[0].size if columns else 1
  hessians = np.asarray(hessians, np.float64)
  hessians = np.broadcast_to(hessians, (count,) + hessians.shape[-2:])
  starts = np.broadcast_to(np.asarray(start, np.float64), (count, hessians.shape[-1]))

  def run(values, hessian, w0):
    optimizer = factory(**dict(zip(names, values)))

    def step(carry, _):
      w, state = carry
      updates, state = optimizer.update(hessian @ w, state, w)  # the gradient of 1/2 w^T H w
      w = optax.apply_updates(w, updates)
      return (w, state), observe(w)

    _, path = jax.lax.scan(step, (w0, optimizer.init(w0)), length=steps)
    return jnp.concatenate([observe(w0)[None], path])

  with jax.enable_x64(True):
    values = tuple(jnp.asarray(c.ravel()) for c in columns)
    return np.asarray(jax.jit(jax.vmap(run))(values, jnp.asarray(hessians), jnp.asarray(starts)))


def iterates(factory, hyperparameters: dict, hessians, start, steps: int) -> np.ndarray:
  """[configurations, steps + 1, n]: w_0..w_steps of factory(**one configuration) for each
  configuration (the hyperparameter arrays broadcast together and are flattened; `hessians`
  is one [n, n] matrix or one per configuration, `start` one [n] vector or one per
  configuration)."""
  return _runs(factory, hyperparameters, hessians, start, steps, lambda w: w)


def distances(factory, hyperparameters: dict, hessians, start, steps: int) -> np.ndarray:
  """[configurations, steps + 1]: |w_k - w*| = |w_k| of each run, as `iterates`."""
  return _runs(factory, hyperparameters, hessians, start, steps, jnp.linalg.norm)
