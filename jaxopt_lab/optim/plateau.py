"""Reduce-on-plateau: a gradient transformation whose scale drops when the loss stops improving.

It follows torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min") step for step, as a pure,
traceable transformation. The loss arrives as the keyword `value` of `update`, optax's
extra-args convention (the one optax.contrib.reduce_on_plateau uses), so it chains with any
optimizer and `optax.chain` forwards `value` to it:

  optimizer = optax.chain(jaxopt_lab.adam(1e-2), jaxopt_lab.reduce_on_plateau(patience=5))
  updates, state = optimizer.update(grads, state, params, value=loss)
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, POSITIVE, PROBABILITY, check, check_int
from jaxopt_lab.optim.base import Scalar, wide

__all__ = ["reduce_on_plateau", "ReduceOnPlateauState"]


class ReduceOnPlateauState(NamedTuple):
  scale: jax.Array           # the factor updates are multiplied by, 1 at the start
  best_value: jax.Array      # the best (lowest) averaged value so far, inf at the start
  plateau_count: jax.Array   # int32: evaluations since the last improvement ("bad epochs")
  cooldown_count: jax.Array  # int32: evaluations left in the cooldown after a reduction
  count: jax.Array           # int32: values accumulated towards the next evaluation
  avg_value: jax.Array       # their running mean


def reduce_on_plateau(factor: Scalar = 0.1, patience: Scalar = 10, rtol: Scalar = 1e-4,
                      atol: Scalar = 0.0, cooldown: Scalar = 0, accumulation_size: Scalar = 1,
                      min_scale: Scalar = 0.0) -> optax.GradientTransformationExtraArgs:
  """u <- scale * u, with scale reduced when the loss `value` plateaus.

  Every `accumulation_size` calls, the mean v of their values is evaluated as torch does:

    improved = v < best - rtol |best| - atol;   best <- v if improved
    plateau <- 0 if improved else plateau + 1
    if cooldown_count > 0:  cooldown_count <- cooldown_count - 1;  plateau <- 0
    if plateau > patience:  scale <- max(factor scale, min_scale);  plateau <- 0;
                            cooldown_count <- cooldown

  and the scale after this evaluation multiplies this call's updates. With accumulation_size=1
  the sequence of scales is torch's ReduceLROnPlateau(mode="min", factor, patience,
  threshold=rtol, threshold_mode="rel", cooldown, min_lr=min_scale lr) lr / lr, fed the same
  losses (threshold_mode="abs" is rtol=0, atol=threshold); torch's `eps`, which skips
  reductions smaller than eps, is left out. optax.contrib.reduce_on_plateau takes the same
  arguments and `value`, but reduces when plateau reaches `patience` rather than exceeds it:
  its patience p is p - 1 here.
  """
  check("reduce_on_plateau", factor=(factor, PROBABILITY), rtol=(rtol, PROBABILITY),
        atol=(atol, NONNEGATIVE), min_scale=(min_scale, NONNEGATIVE))
  check_int("reduce_on_plateau", patience=(patience, NONNEGATIVE),
            cooldown=(cooldown, NONNEGATIVE), accumulation_size=(accumulation_size, POSITIVE))

  def init(params):
    del params
    zero = jnp.zeros([], jnp.int32)
    return ReduceOnPlateauState(scale=jnp.ones([], float), best_value=jnp.full([], jnp.inf, float),
                                plateau_count=zero, cooldown_count=zero, count=zero,
                                avg_value=jnp.zeros([], float))

  def evaluate(state, value):
    best = state.best_value
    # best - rtol |best| - atol, and +inf before the first value (where inf - inf is NaN)
    threshold = jnp.where(jnp.isfinite(best), best - rtol * jnp.abs(best) - atol, best)
    improved = value < threshold
    best = jnp.where(improved, value, state.best_value)
    plateau = jnp.where(improved, 0, state.plateau_count + 1)
    cooling = state.cooldown_count > 0
    cooldown_count = jnp.where(cooling, state.cooldown_count - 1, state.cooldown_count)
    plateau = jnp.where(cooling, 0, plateau)
    reduce = plateau > patience
    scale = jnp.where(reduce, jnp.maximum(factor * state.scale, min_scale), state.scale)
    return state._replace(
        scale=scale.astype(state.scale.dtype), best_value=best.astype(state.best_value.dtype),
        plateau_count=jnp.where(reduce, 0, plateau).astype(jnp.int32),
        cooldown_count=jnp.where(reduce, cooldown, cooldown_count).astype(jnp.int32))

  def update(updates, state, params=None, *, value, **extra_args):
    del params, extra_args
    count = state.count + 1
    mean = state.avg_value + (jnp.asarray(value, state.avg_value.dtype) - state.avg_value) / count
    evaluated = evaluate(state, mean)
    due = count >= accumulation_size
    state = jax.tree.map(lambda new, old: jnp.where(due, new, old), evaluated, state)
    state = state._replace(count=jnp.where(due, 0, count).astype(jnp.int32),
                           avg_value=jnp.where(due, 0.0, mean).astype(state.avg_value.dtype))
    updates = jax.tree.map(lambda u: (state.scale * wide(u)).astype(u.dtype), updates)
    return updates, state

  return optax.GradientTransformationExtraArgs(init, update)
