"""Schedule-free learning (Defazio et al. 2024, "The Road Less Scheduled"): a constant learning
rate with iterate averaging in place of a decaying schedule, and momentum by interpolation.

Three sequences: z takes the base optimizer's steps, x is a weighted running average of the
z's, and the gradient is taken at y, between them. With c_t = w_t / (w_1 + ... + w_t) and
w_t = max_{s <= t} lr_s ^ weight_lr_power,

  z_{t+1} = z_t + base_update(grad f(y_t))        (a plain SGD or Adam step, no momentum)
  x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}
  y_{t+1} = b1 x_{t+1} + (1 - b1) z_{t+1}

The parameters the optimizer updates are y; the state keeps z, so x = (y - (1 - b1) z) / b1.
Evaluate and deploy x, `schedule_free_eval_params(state, params)`; `train` does.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, Interval, check
from jaxopt_lab.optim.adam_family import scale_by_debiased_rms
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.arithmetic import scalar_dtype
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, safe_div, wide
from jaxopt_lab.optim.blocks import with_learning_rate
from jaxopt_lab.optim.masking import masked_decay

__all__ = ["schedule_free", "schedule_free_adamw", "schedule_free_eval_params",
           "ScheduleFreeState"]

OPEN_UNIT = Interval(0.0, 1.0, closed_low=False)  # (0, 1): x = (y - (1 - b1) z) / b1


class ScheduleFreeState(NamedTuple):
  b1: jax.Array           # the interpolation weight, kept for schedule_free_eval_params
  weight_sum: jax.Array   # w_1 + ... + w_t
  step_count: jax.Array   # int32: t + 1, as optax (the schedule is read at it)
  max_lr: jax.Array       # max_{s <= t} lr_s
  base_optimizer_state: optax.OptState
  z: optax.Params


def _wrap(base_optimizer, learning_rate, b1, weight_lr_power) -> optax.GradientTransformation:
  check("schedule_free", b1=(b1, OPEN_UNIT), weight_lr_power=(weight_lr_power, NONNEGATIVE))
  base_optimizer = optax.with_extra_args_support(base_optimizer)

  def init(params):
    dtype = scalar_dtype(params)
    return ScheduleFreeState(jnp.asarray(b1, dtype), jnp.zeros([], dtype),
                             jnp.ones([], jnp.int32), jnp.zeros([], dtype),
                             base_optimizer.init(params), jax.tree.map(jnp.copy, params))

  def update(grads, state, params=None, **extra_args):
    if params is None:
      raise ValueError("schedule_free needs the parameters: call update(updates, state, params)")
    rate = learning_rate(state.step_count) if callable(learning_rate) else learning_rate
    max_lr = jnp.maximum(state.max_lr, rate).astype(state.max_lr.dtype)
    positive = max_lr > 0
    weight = jnp.where(positive, jnp.where(positive, max_lr, 1.0) ** weight_lr_power, 0.0)
    weight_sum = state.weight_sum + weight
    c = safe_div(weight, weight_sum)
    steps, base_state = base_optimizer.update(grads, state.base_optimizer_state, params,
                                              **extra_args)

    def move(y, z, step):
      # y' - y with x = (y - (1 - b1) z) / b1 substituted: (1 - b1 (1 - c)) (z' - z) - c (y - z).
      # It never subtracts y from y' (float32 would lose |y| ulp(1) of every update), and it
      # takes z's step as stored, z' - z, so that x stays (y - (1 - b1) z) / b1 exactly; the
      # step itself is then read once (XLA would otherwise keep it in a buffer of its own).
      new_z = (wide(z) + wide(step)).astype(z.dtype)
      update = (1 - b1 * (1 - c)) * (wide(new_z) - wide(z)) - c * (wide(y) - wide(z))
      return update.astype(y.dtype), new_z

    moved = jax.tree.map(move, params, state.z, steps)
    pick = lambda i: jax.tree.map(lambda _, pair: pair[i], params, moved)
    return pick(0), ScheduleFreeState(state.b1, weight_sum.astype(state.weight_sum.dtype),
                                      optax.safe_int32_increment(state.step_count), max_lr,
                                      base_state, pick(1))

  return optax.GradientTransformationExtraArgs(init, update)


def schedule_free(base_optimizer: optax.GradientTransformation, learning_rate: ScalarOrSchedule,
                  b1: Scalar = 0.9,
                  weight_lr_power: Scalar = 2.0) -> optax.GradientTransformationExtraArgs:
  """`base_optimizer` made schedule-free (see the module docstring), as
  optax.contrib.schedule_free. Give the base optimizer no momentum (b1 = 0 for Adam) and the
  same `learning_rate`, a constant or a warmup into a constant; b1 in (0, 1).
  """
  check("schedule_free", learning_rate=(learning_rate, NONNEGATIVE))
  return _wrap(base_optimizer, learning_rate, b1, weight_lr_power)


def _warmed_up(learning_rate, warmup_steps):
  """lr(t) min(1, t / warmup_steps) (optax.warmup_constant_schedule from 0); lr(t) if 0."""
  def rate(step):
    value = learning_rate(step) if callable(learning_rate) else learning_rate
    step = jnp.asarray(step)
    ramp = jnp.where(warmup_steps > 0,
                     safe_div(step.astype(jnp.result_type(float, step)), warmup_steps), 1.0)
    return value * jnp.minimum(1.0, ramp)
  return rate


@optimizer
def schedule_free_adamw(learning_rate: ScalarOrSchedule = 2.5e-3, b1: Scalar = 0.9,
                        b2: Scalar = 0.999, eps: Scalar = 1e-8, weight_decay: Scalar = 0.0,
                        weight_lr_power: Scalar = 2.0, warmup_steps: Scalar = 0,
                        mask=None) -> optax.GradientTransformationExtraArgs:
  """Schedule-free AdamW: `schedule_free` around z_{t+1} = z_t - lr_t (g_t / (sqrt(v_hat) +
  eps) + weight_decay y_t), v_hat Adam's bias-corrected second moment with b2, g_t the gradient
  at y_t; lr_t rises linearly from 0 over warmup_steps, then stays constant. Defazio et al.
  (2024), as optax.contrib.schedule_free_adamw.

  `mask` (a pytree of bools, or a function params -> one) selects the leaves that decay.
  Evaluate at `schedule_free_eval_params(state, params)`, not at params.
  """
  check("schedule_free_adamw", learning_rate=(learning_rate, NONNEGATIVE),
        warmup_steps=(warmup_steps, NONNEGATIVE))
  rate = _warmed_up(learning_rate, warmup_steps)
  base = with_learning_rate(scale_by_debiased_rms(b2, eps), masked_decay(weight_decay, mask),
                            learning_rate=rate)
  return _wrap(base, rate, b1, weight_lr_power)


def _schedule_free_states(state) -> list:
  is_state = lambda s: isinstance(s, ScheduleFreeState)
  return [s for s in jax.tree.leaves(state, is_leaf=is_state) if is_state(s)]


def schedule_free_eval_params(state: optax.OptState, params: optax.Params) -> optax.Params:
  """x = (y - (1 - b1) z) / b1, the point to evaluate and deploy, from the parameters y and
  the state of an optimizer that contains one `schedule_free` (optax.contrib's helper)."""
  found = _schedule_free_states(state)
  if len(found) != 1:
    raise ValueError(f"schedule_free_eval_params(state=...): state must contain one "
                     f"ScheduleFreeState (a schedule_free optimizer's), got {len(found)}")
  b1, z = found[0].b1, found[0].z
  return jax.tree.map(lambda y, z: ((wide(y) - (1 - b1) * wide(z)) / b1).astype(y.dtype),
                      params, z)
