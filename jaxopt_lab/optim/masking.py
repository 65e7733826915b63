"""Masks: a transform applied to some leaves only, e.g. weight decay kept off biases and norms.

A mask is what optax's `mask=` takes: a pytree of bools with the parameters' structure (or a
prefix of it: one bool for a whole subtree), or a function params -> such a pytree. Leaves
marked True get the transform; the others pass through unchanged.

  decay_matrices = lambda params: jax.tree.map(lambda w: w.ndim > 1, params)
  adamw(1e-3, weight_decay=0.1, mask=decay_matrices)   # biases and norm scales: no decay

A mask that does not fit the parameters is one ValueError naming the optimizer the user
called and both trees' leaf paths, not a pytree traceback.
"""
import jax
import numpy as np
import optax
from jax.tree_util import keystr, tree_flatten_with_path

from jaxopt_lab._validation import caller, is_concrete
from jaxopt_lab.optim.base import Scalar
from jaxopt_lab.optim.blocks import add_decayed_weights

__all__ = ["masked"]


def masked(inner: optax.GradientTransformation, mask) -> optax.GradientTransformation:
  """`inner` on the leaves `mask` marks True; the other leaves' updates pass unchanged.

  optax.masked, with the mask checked against the parameters (one line per error). The state
  is optax's `MaskedState(inner_state)`, the inner state over the marked leaves only.
  """
  call = caller("masked")

  def resolved(tree):
    chosen = mask(tree) if callable(mask) else mask
    _check_mask(call, chosen, tree)
    return chosen

  return optax.masked(inner, resolved)


def masked_decay(weight_decay: Scalar, mask) -> optax.GradientTransformation:
  """`add_decayed_weights(weight_decay)` on the leaves `mask` marks (all of them if None)."""
  decay = add_decayed_weights(weight_decay)
  return decay if mask is None else masked(decay, mask)


def _is_bool(leaf) -> bool:
  return is_concrete(leaf) and np.ndim(leaf) == 0 and np.asarray(leaf).dtype == bool


def _check_mask(call: str, mask, params) -> None:
  valid = "a pytree of bools with the parameters' structure or a prefix of it"
  leaves = tree_flatten_with_path(mask)[0]
  for path, leaf in leaves:
    if not _is_bool(leaf):
      raise ValueError(f"{call}(mask=...): mask must be {valid}, got {leaf!r} at "
                       f"{keystr(path) or 'the root'}")
  try:
    jax.tree.map(lambda m, subtree: None, mask, params)
  except (ValueError, TypeError):
    theirs = [keystr(p) for p, _ in tree_flatten_with_path(params)[0]]
    raise ValueError(f"{call}(mask=...): mask must be {valid}, got leaves "
                     f"{[keystr(p) for p, _ in leaves]} for parameters with leaves "
                     f"{theirs}") from None
