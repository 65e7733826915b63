"""Learning-rate schedules: functions `step -> learning rate`, traceable in every parameter.

`step` is the int32 count of earlier updates (0 on the first), as in optax and torch.optim,
so a schedule goes wherever a learning rate does, in jaxopt_lab or optax:

  schedule = warmup(cosine_decay(3e-3, decay_steps=900, eta_min=3e-5), warmup_steps=100)
  optimizer = jaxopt_lab.adam(schedule)

Every numeric parameter (rates, decay rates, step counts, boundaries, periods) may be a Python
number, a scalar array or a tracer: nothing branches in Python on a value, step counts enter
as floats, so `jax.vmap` over warmup lengths or restart periods compiles one program, and a
jitted function building a schedule traces once for any values. Schedules are elementwise in
`step`, so `schedule(jnp.arange(n))` gives the whole curve. Concrete bad values raise
  cosine_decay(decay_steps=0)  ->  ValueError: cosine_decay(decay_steps=0): decay_steps must
                                   be in [1, inf), got 0
"""
import math
from typing import Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import NONNEGATIVE, POSITIVE, PROBABILITY, Interval, check, is_concrete
from jaxopt_lab.optim.base import Scalar, Schedule

__all__ = ["constant", "step_decay", "multistep_decay", "exponential_decay", "cosine_decay", "linear_decay", "inverse_sqrt", "warmup", "sgdr"]

STEPS = Interval(1.0, math.inf)  # a length in steps: decay_steps, periods, total_steps
Scalars = Union[Sequence[Scalar], jax.Array]


def _float(step) -> jax.Array:
  """The step count as a float array (float64 under x64), so step arithmetic is traceable."""
  return jnp.asarray(step, dtype=float)


def _check_each(call: str, name: str, values: Scalars, interval: Interval) -> None:
  """`check` for each concrete entry of a sequence or array (tracers pass)."""
  if isinstance(values, (list, tuple)):
    for value in values:
      check(call, **{name: (value, interval)})
  elif is_concrete(values):
    for value in np.ravel(np.asarray(values)):
      check(call, **{name: (float(value), interval)})


def constant(value: Scalar) -> Schedule:
  """lr(t) = value."""
  check("constant", value=(value, NONNEGATIVE))
  return lambda step: value * jnp.ones_like(_float(step))


def multistep_decay(init_value: Scalar, boundaries: Scalars, gamma: Scalar = 0.1) -> Schedule:
  """lr(t) = init_value * gamma^(number of boundaries b with t >= b).

  torch.optim.lr_scheduler.MultiStepLR(milestones=boundaries, gamma) and
  optax.piecewise_constant_schedule(init_value, {b: gamma for b in boundaries}). `boundaries`
  is a sequence of step counts or a 1-D array (each entry may be a tracer); order does not matter.
  """
  check("multistep_decay", init_value=(init_value, NONNEGATIVE), gamma=(gamma, NONNEGATIVE))
  _check_each("multistep_decay", "boundaries", boundaries, NONNEGATIVE)
  stacked = jnp.asarray(boundaries, dtype=float).reshape(-1)

  def schedule(step):
    passed = jnp.sum(jnp.expand_dims(_float(step), -1) >= stacked, axis=-1)
    return init_value * gamma ** passed

  return schedule


def step_decay(init_value: Scalar, total_steps: Scalar, fractions: Scalars = (0.5, 0.75),
               gamma: Scalar = 0.1) -> Schedule:
  """Step decay: x gamma at each of the given fractions of the run.

  lr(t) = init_value * gamma^(number of f in fractions with t >= round(f * total_steps)),
  i.e. `multistep_decay` with boundaries round(f * total_steps) (rounded to the nearest step,
  so 0.3 * 10 is step 3 despite floating point).
  """
  check("step_decay", init_value=(init_value, NONNEGATIVE), total_steps=(total_steps, STEPS),
        gamma=(gamma, NONNEGATIVE))
  _check_each("step_decay", "fractions", fractions, PROBABILITY)
  boundaries = jnp.round(jnp.asarray(fractions, dtype=float).reshape(-1) * total_steps)
  return multistep_decay(init_value, boundaries, gamma)


def exponential_decay(init_value: Scalar, transition_steps: Scalar, decay_rate: Scalar,
                      staircase: Union[bool, jax.Array] = False) -> Schedule:
  """lr(t) = init_value * decay_rate^(t / transition_steps), or ^floor(t / transition_steps)
  with staircase=True.

  optax.exponential_decay (without transition_begin/end_value); torch's ExponentialLR(gamma) is
  transition_steps=1, decay_rate=gamma, and StepLR(step_size, gamma) is
  transition_steps=step_size, decay_rate=gamma, staircase=True.
  """
  check("exponential_decay", init_value=(init_value, NONNEGATIVE),
        transition_steps=(transition_steps, STEPS), decay_rate=(decay_rate, POSITIVE))

  def schedule(step):
    progress = _float(step) / transition_steps
    return init_value * decay_rate ** jnp.where(staircase, jnp.floor(progress), progress)

  return schedule


def cosine_decay(init_value: Scalar, decay_steps: Scalar, eta_min: Scalar = 0.0) -> Schedule:
  """lr(t) = eta_min + (init_value - eta_min) (1 + cos(pi min(t, T) / T)) / 2,  T = decay_steps.

  eta_min is the final rate itself, as in torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T,
  eta_min) (optax.cosine_decay_schedule's alpha is eta_min / init_value). After T steps the
  rate stays at eta_min, as in optax (torch's cosine would rise again).
  """
  check("cosine_decay", init_value=(init_value, NONNEGATIVE), decay_steps=(decay_steps, STEPS),
        eta_min=(eta_min, NONNEGATIVE))

  def schedule(step):
    progress = jnp.clip(_float(step) / decay_steps, 0.0, 1.0)
    return eta_min + (init_value - eta_min) * 0.5 * (1 + jnp.cos(jnp.pi * progress))

  return schedule


def linear_decay(init_value: Scalar, decay_steps: Scalar, end_value: Scalar = 0.0) -> Schedule:
  """lr(t) = init_value + (end_value - init_value) min(t, T) / T,  T = decay_steps.

  optax.linear_schedule(init_value, end_value, T); torch's LinearLR(start_factor, end_factor,
  total_iters=T) with base rate r is init_value = r start_factor, end_value = r end_factor.
  """
  check("linear_decay", init_value=(init_value, NONNEGATIVE), decay_steps=(decay_steps, STEPS),
        end_value=(end_value, NONNEGATIVE))

  def schedule(step):
    progress = jnp.clip(_float(step) / decay_steps, 0.0, 1.0)
    return init_value + (end_value - init_value) * progress

  return schedule


def inverse_sqrt(init_value: Scalar, timescale: Scalar) -> Schedule:
  """lr(t) = init_value sqrt(timescale / (timescale + t)) = init_value / sqrt(1 + t / timescale).

  Starts at init_value and falls like 1 / sqrt(t). After a linear warmup of length w,
  `warmup(inverse_sqrt(peak, w), w)` is the Transformer's schedule (Vaswani et al. 2017):
  peak t / w for t < w, then peak sqrt(w / t), since the decay's step is counted from t = w.
  """
  check("inverse_sqrt", init_value=(init_value, NONNEGATIVE), timescale=(timescale, POSITIVE))
  return lambda step: init_value * jax.lax.rsqrt(1 + _float(step) / timescale)


def warmup(schedule: Schedule, warmup_steps: Scalar, init_value: Scalar = 0.0) -> Schedule:
  """Linear warmup from init_value into `schedule` (any function step -> rate):

    lr(t) = init_value + (schedule(0) - init_value) t / w   for t < w = warmup_steps
    lr(t) = schedule(t - w)                                 for t >= w

  The wrapped schedule's step is counted from the end of the warmup, so it runs its whole
  course after it: optax.warmup_cosine_decay_schedule(i, p, w, T, e) is
  warmup(cosine_decay(p, T - w, e), w, i). warmup_steps=0 gives `schedule` unchanged.
  """
  check("warmup", warmup_steps=(warmup_steps, NONNEGATIVE), init_value=(init_value, NONNEGATIVE))

  def warmed_up(step):
    peak = schedule(jnp.zeros_like(step))
    ramp = init_value + (peak - init_value) * _float(step) / jnp.where(warmup_steps > 0,
                                                                        warmup_steps, 1)
    after = schedule(jnp.maximum(step - warmup_steps, 0))
    return jnp.where(step < warmup_steps, ramp, after)

  return warmed_up


def sgdr(init_value: Scalar, first_period: Scalar, period_multiplier: Scalar = 1.0,
         eta_min: Scalar = 0.0) -> Schedule:
  """SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017):

    T_i = T_0 m^i,   restart i begins at S_i = T_0 (m^i - 1) / (m - 1)   (= T_0 i when m = 1)
    lr(t) = eta_min + (init_value - eta_min) (1 + cos(pi (t - S_i) / T_i)) / 2,  S_i <= t < S_i+1

  with T_0 = first_period and m = period_multiplier. The restart index i is computed in closed
  form, i = floor(log(1 + t (m - 1) / T_0) / log m), then corrected by one where rounding puts
  t on the wrong side of a restart, so T_0 and m may be tracers; a step within 64 ulps of a
  restart counts as the restart (S_2 = 12 for T_0 = 3, m = 3 even where it computes as
  12.000000000000002). torch's CosineAnnealingWarmRestarts(T_0, T_mult=m, eta_min) for
  integer m; here m is any real >= 1.
  """
  check("sgdr", init_value=(init_value, NONNEGATIVE), first_period=(first_period, STEPS),
        period_multiplier=(period_multiplier, Interval(1.0, math.inf)),
        eta_min=(eta_min, NONNEGATIVE))
  geometric = period_multiplier != 1
  log_m = jnp.log(jnp.where(geometric, period_multiplier, 2.0))

  def restart_start(i):
    """S_i, with (m^i - 1) / (m - 1) written as expm1(i log m) / (m - 1) for m near 1."""
    growth = jnp.expm1(i * log_m) / jnp.where(geometric, period_multiplier - 1, 1.0)
    return first_period * jnp.where(geometric, growth, i)

  def schedule(step):
    t = _float(step)
    ratio = t / first_period
    i = jnp.floor(jnp.where(geometric, jnp.log1p(ratio * (period_multiplier - 1)) / log_m, ratio))
    reached = t + 64 * jnp.finfo(t.dtype).eps * jnp.maximum(t, 1)  # restarts at or before t
    i = jnp.where(restart_start(i) > reached, i - 1, i)
    i = jnp.where(restart_start(i + 1) <= reached, i + 1, i)
    period = first_period * jnp.where(geometric, jnp.exp(i * log_m), 1.0)
    progress = (t - restart_start(i)) / period
    return eta_min + (init_value - eta_min) * 0.5 * (1 + jnp.cos(jnp.pi * progress))

  return schedule
