"""Gradient clipping by the global norm of all leaves (Pascanu, Mikolov & Bengio 2013)."""
import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import POSITIVE, check
from jaxopt_lab.optim.base import Scalar, wide

__all__ = ["global_norm", "clip_by_global_norm"]


def global_norm(tree) -> jax.Array:
  """sqrt of the sum of squares of every leaf, accumulated in at least float32."""
  return jnp.sqrt(sum(jnp.sum(wide(x) ** 2) for x in jax.tree.leaves(tree)))


def clip_by_global_norm(max_norm: Scalar) -> optax.GradientTransformation:
  """u <- u * min(1, max_norm / |u|), |u| the norm of all leaves together (Pascanu et al. 2013)."""
  check("clip_by_global_norm", max_norm=(max_norm, POSITIVE))

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    del params
    norm = global_norm(updates)
    factor = jnp.where(norm > max_norm, max_norm / norm, 1.0)
    return jax.tree.map(lambda u: (wide(u) * factor).astype(u.dtype), updates), state

  return optax.GradientTransformation(init, update)
