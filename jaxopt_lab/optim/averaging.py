"""Iterate averaging around any optimizer: the average of the parameters along the run, kept
in the optimizer's state, to evaluate and deploy in place of the last iterate.

  optimizer = polyak_averaging(jl.sgd(0.1), start=1000)   # or ema_averaging(jl.adamw(1e-3))
  ...                                                     # train as usual
  model_params = averaged_params(state)

With gradient noise, SGD at a constant learning rate ends in a noise ball whose size the
learning rate sets (`theory.sgd_stationary_variance`); the equal-weight average of its
iterates converges to w* nonetheless, at the optimal rate sigma^2 / (lambda t) (Polyak &
Juditsky 1992), and an EMA shrinks the ball by a factor set by its decay (the study
`iterate-averaging` measures both against theory).
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, UNIT, check, check_int
from jaxopt_lab.optim.base import Scalar, wide
from jaxopt_lab.optim.schedule_free import ScheduleFreeState, schedule_free_eval_params

__all__ = ["polyak_averaging", "ema_averaging", "averaged_params", "evaluation_params",
           "AveragedState"]


class AveragedState(NamedTuple):
  step: jax.Array        # int32: updates made so far
  n_averaged: jax.Array  # int32: iterates in the average (torch's n_averaged)
  average: optax.Params  # the average; the initial parameters until one iterate is averaged
  inner_state: optax.OptState


def _averaging(optimizer, weight) -> optax.GradientTransformationExtraArgs:
  """`optimizer`, and after each step a <- a + weight(step, n) (w - a) with w the new iterate
  (weight 0: not averaged, weight 1: a = w)."""
  optimizer = optax.with_extra_args_support(optimizer)

  def init(params):
    zero = jnp.zeros([], jnp.int32)
    return AveragedState(zero, zero, jax.tree.map(jnp.copy, params), optimizer.init(params))

  def update(grads, state, params=None, **extra_args):
    if params is None:
      raise ValueError("averaging needs the parameters: call update(updates, state, params)")
    updates, inner_state = optimizer.update(grads, state.inner_state, params, **extra_args)
    step = optax.safe_int32_increment(state.step)
    fraction = weight(step, state.n_averaged)
    average = jax.tree.map(
        lambda a, w, u: (wide(a) + fraction * (wide(w) + wide(u) - wide(a))).astype(a.dtype),
        state.average, params, updates)
    n_averaged = state.n_averaged + (fraction > 0).astype(jnp.int32)
    return updates, AveragedState(step, n_averaged, average, inner_state)

  return optax.GradientTransformationExtraArgs(init, update)


def polyak_averaging(optimizer: optax.GradientTransformation,
                     start: Scalar = 0) -> optax.GradientTransformationExtraArgs:
  """Polyak-Ruppert averaging (Ruppert 1988; Polyak & Juditsky 1992): `optimizer`'s steps
  unchanged, and the equal-weight average of the iterates after step `start`,

    a_t = (w_{start+1} + ... + w_t) / (t - start),   a <- a + (w_t - a) / n_averaged,

  as torch.optim.swa_utils.AveragedModel (default average) updated after every step from
  step `start` on (SWA's swa_start). Read it with `averaged_params(state)`.
  """
  check_int("polyak_averaging", start=(start, NONNEGATIVE))
  return _averaging(optimizer, lambda step, n: jnp.where(step > start, 1 / (n + 1.0), 0.0))


def ema_averaging(optimizer: optax.GradientTransformation,
                  decay: Scalar = 0.999) -> optax.GradientTransformationExtraArgs:
  """An exponential moving average of the iterates beside `optimizer`'s unchanged steps:

    a_1 = w_1,   a_t = decay a_{t-1} + (1 - decay) w_t,

  as torch.optim.swa_utils.AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(decay)) updated
  after every step (the "EMA of the weights" flax users keep with optax.incremental_update).
  Read it with `averaged_params(state)`.
  """
  check("ema_averaging", decay=(decay, UNIT))
  return _averaging(optimizer, lambda step, n: jnp.where(n == 0, 1.0, 1 - decay))


def _averaged_states(state) -> list:
  is_state = lambda s: isinstance(s, AveragedState)
  return [s for s in jax.tree.leaves(state, is_leaf=is_state) if is_state(s)]


def averaged_params(state: optax.OptState) -> optax.Params:
  """The average kept by the one `polyak_averaging` or `ema_averaging` inside `state`."""
  found = _averaged_states(state)
  if len(found) != 1:
    raise ValueError("averaged_params(state=...): state must contain one AveragedState (a "
                     f"polyak_averaging or ema_averaging optimizer's), got {len(found)}")
  return found[0].average


def evaluation_params(state: optax.OptState, params: optax.Params) -> optax.Params:
  """The parameters to evaluate and deploy: the iterate average if the optimizer keeps one,
  schedule-free's x if it is schedule-free, else `params` itself."""
  if _averaged_states(state):
    return averaged_params(state)
  is_free = lambda s: isinstance(s, ScheduleFreeState)
  if any(is_free(s) for s in jax.tree.leaves(state, is_leaf=is_free)):
    return schedule_free_eval_params(state, params)
  return params
