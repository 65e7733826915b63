"""Gradient clipping by the global norm of all leaves (Pascanu, Mikolov & Bengio 2013)."""
import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import POSITIVE, check
from jaxopt_lab.optim.base import Scalar, safe_norm, wide

__all__ = ["global_norm", "clip_by_global_norm"]


def global_norm(tree) -> jax.Array:
  """|u| = sqrt(sum over leaves of sum |x|^2), accumulated in at least float32; a complex leaf
  counts as its (real, imaginary) pairs, as optax.global_norm. 0 for a tree of zeros or of
  empty leaves, with gradient 0 there (the subgradient of least norm; not NaN)."""
  return safe_norm(tree)


def clip_by_global_norm(max_norm: Scalar) -> optax.GradientTransformation:
  """u <- u * min(1, max_norm / |u|), |u| = `global_norm(u)` (Pascanu et al. 2013).

  The scale is 1 wherever |u| <= max_norm, including u = 0, so the derivative of the update
  with respect to u is the identity there (tensorflow#22048: NaN in tf.clip_by_global_norm).
  """
  check("clip_by_global_norm", max_norm=(max_norm, POSITIVE))

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    del params
    norm = global_norm(updates)
    clipping = norm > max_norm
    factor = jnp.where(clipping, max_norm / jnp.where(clipping, norm, 1.0), 1.0)
    return jax.tree.map(lambda u: (wide(u) * factor).astype(u.dtype), updates), state

  return optax.GradientTransformation(init, update)
