"""Early stopping on a validation objective, as pure state updates a compiled loop can carry.

  stopping = EarlyStopping(patience=5)                    # evaluations without improvement
  state = early_stopping_init(params)
  # after each evaluation at step t, with validation loss v:
  state, params = early_stopping_update(state, v, params, t, stopping)
  # then skip the optimizer's updates while state.stopped (e.g. with jnp.where)

The rule of the lectures (and of Keras' EarlyStopping(restore_best_weights=True)): keep the
parameters with the best validation loss so far; after `patience` evaluations in a row that
do not improve on it by more than `min_delta`, stop and go back to those parameters. A run
that never stops keeps its last parameters, so patience inf (never stop) is the same as no
early stopping. Patience may be a tracer: one sweep covers several. flax.training.early_stopping
keeps the same counters but branches on them in Python, so it cannot run inside `lax.scan`
or `vmap`; this one is plain `jnp.where`s.
"""
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_lab._validation import NONNEGATIVE, Interval, check

PATIENCE = Interval(1, math.inf, True, True)


class EarlyStopping(NamedTuple):
  """patience: evaluations in a row without improvement after which training stops, in
  [1, inf] (1: the first one that does not improve; inf: never); min_delta: the decrease of
  the validation loss that counts as an improvement, >= 0."""
  patience: Any
  min_delta: Any = 0.0

  def check(self) -> None:
    check("EarlyStopping", patience=(self.patience, PATIENCE),
          min_delta=(self.min_delta, NONNEGATIVE))


class EarlyStoppingState(NamedTuple):
  best_value: jax.Array       # the lowest validation loss so far (inf before the first)
  best_params: Any            # the parameters that scored it
  best_step: jax.Array        # int32: the step after which they were evaluated
  bad_evaluations: jax.Array  # int32: evaluations since the last improvement
  stopped: jax.Array          # bool: training has stopped
  stopped_step: jax.Array     # int32: the step at which it stopped (-1 while running)


def early_stopping_init(params) -> EarlyStoppingState:
  """The state before the first evaluation: nothing seen, `params` as the best so far."""
  return EarlyStoppingState(jnp.float32(jnp.inf), params, jnp.int32(0), jnp.int32(0),
                            jnp.bool_(False), jnp.int32(-1))


def early_stopping_update(state: EarlyStoppingState, value, params, step,
                          stopping: EarlyStopping):
  """(new state, the parameters to continue from) after an evaluation of `params` at `step`
  scoring `value` (lower is better; NaN never improves). When this evaluation stops the run,
  the parameters returned are the best ones; once stopped, nothing changes any more."""
  value = jnp.asarray(value, jnp.float32)
  improved = ~state.stopped & (value < state.best_value - stopping.min_delta)
  keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(improved, a, b), new, old)
  best_params = keep(params, state.best_params)
  bad = jnp.where(improved, 0, state.bad_evaluations + (~state.stopped).astype(jnp.int32))
  stop_now = ~state.stopped & (bad >= stopping.patience)
  new = EarlyStoppingState(
      jnp.where(improved, value, state.best_value), best_params,
      jnp.where(improved, jnp.asarray(step, jnp.int32), state.best_step), bad,
      state.stopped | stop_now, jnp.where(stop_now, jnp.asarray(step, jnp.int32),
                                          state.stopped_step))
  params = jax.tree.map(lambda b, p: jnp.where(stop_now, b, p), best_params, params)
  return new, params
