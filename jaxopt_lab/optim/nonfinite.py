"""Skipping non-finite steps: a wrapper that refuses a step whose numbers are NaN or Inf.

  optimizer = skip_nonfinite(adam(1e-3), max_consecutive_errors=5)
  state = optimizer.init(params)
  updates, state = optimizer.update(grads, state, params)   # zero updates if grads had a NaN
  state.notfinite_count, state.total_notfinite                # exact int32 counters

A step is bad when the gradients, the inner transform's updates, or a value of its new state
that was finite before hold a NaN or Inf (the last catches Adam's v overflowing on a huge
gradient, whose update is a silent 0). A bad step returns zero updates and keeps the inner
state bit for bit, so the run continues as if that gradient had never arrived.

After `max_consecutive_errors` bad steps in a row, the next bad step is let through: its
non-finite update reaches the parameters, so a run that cannot recover fails visibly instead
of standing still forever. The same rule and state field names as `optax.apply_if_finite`,
which checks the incoming gradients only.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import Interval, check_int
from jaxopt_lab.optim.base import check_transforms

__all__ = ["skip_nonfinite", "SkipNonfiniteState", "all_finite"]

INT32_MAX = 2 ** 31 - 1


class SkipNonfiniteState(NamedTuple):
  notfinite_count: jax.Array  # int32: bad steps in a row, 0 after a good one
  last_finite: jax.Array      # bool: whether the last step was good
  total_notfinite: jax.Array  # int32: bad steps since init, never reset
  inner_state: optax.OptState


def _inexact_leaves(tree) -> list:
  return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


def all_finite(tree) -> jax.Array:
  """True where every floating leaf of `tree` is free of NaN and Inf (a traced bool scalar)."""
  flags = [jnp.all(jnp.isfinite(x)) for x in _inexact_leaves(tree)]
  return jnp.all(jnp.stack(flags)) if flags else jnp.array(True)


def _stays_finite(new_state, old_state) -> jax.Array:
  """True unless a value that was finite in `old_state` is NaN or Inf in `new_state`."""
  flags = [jnp.all(jnp.isfinite(new) | ~jnp.isfinite(old))
           for new, old in zip(_inexact_leaves(new_state), _inexact_leaves(old_state))]
  return jnp.all(jnp.stack(flags)) if flags else jnp.array(True)


def skip_nonfinite(inner: optax.GradientTransformation,
                   max_consecutive_errors: int = 5) -> optax.GradientTransformationExtraArgs:
  """Wraps `inner` so that a step with NaN/Inf gradients, updates or new state is skipped.

    bad_t   = not finite(g_t, inner updates_t, inner state_t where state_{t-1} was finite)
    c_t     = 0 if not bad_t else c_{t-1} + 1          (notfinite_count)
    T_t     = T_{t-1} + bad_t                           (total_notfinite)
    applied = not bad_t or c_t > max_consecutive_errors
    u_t, s_t = (inner updates_t, inner state_t) if applied else (0, s_{t-1})

  Counters are int32 and saturate at 2**31 - 1, so max_consecutive_errors = 2**31 - 1 never
  lets a bad step through. Selection is `jnp.where` on traced flags: one trace under `jit`,
  and under `vmap` every lane keeps its own counters. The inner update is always computed
  (its result is what gets checked).
  """
  check_transforms("skip_nonfinite", "inner", [inner])
  check_int("skip_nonfinite",
            max_consecutive_errors=(max_consecutive_errors, Interval(0, INT32_MAX, True, True)))
  inner = optax.with_extra_args_support(inner)

  def init(params):
    zero = jnp.zeros([], jnp.int32)
    return SkipNonfiniteState(zero, jnp.array(True), zero, inner.init(params))

  def update(grads, state, params=None, **extra_args):
    updates, inner_state = inner.update(grads, state.inner_state, params, **extra_args)
    finite = (all_finite(grads) & all_finite(updates)
              & _stays_finite(inner_state, state.inner_state))
    count = jnp.where(finite, 0, optax.safe_int32_increment(state.notfinite_count))
    total = jnp.where(finite, state.total_notfinite,
                      optax.safe_int32_increment(state.total_notfinite))
    applied = finite | (count > max_consecutive_errors)
    updates = jax.tree.map(lambda u: jnp.where(applied, u, jnp.zeros_like(u)), updates)
    inner_state = jax.tree.map(lambda new, old: jnp.where(applied, new, old),
                               inner_state, state.inner_state)
    return updates, SkipNonfiniteState(count, finite, total, inner_state)

  return optax.GradientTransformationExtraArgs(init, update)
