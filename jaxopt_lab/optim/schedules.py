"""Learning-rate schedules: functions `step -> learning rate`, traceable in every parameter.

`step` is the int32 count of earlier updates (0 on the first), as in optax and torch.optim,
so a schedule goes wherever a learning rate does, in jaxopt_lab or optax:

  schedule = warmup(cosine_decay(3e-3, decay_steps=900, eta_min=3e-5), warmup_steps=100)
  optimizer = jaxopt_lab.adam(schedule)

Every numeric parameter (rates, decay rates, step counts, boundaries, periods) may be a Python
number, a scalar array or a tracer: nothing branches in Python on a value, step counts enter
as floats, so `jax.vmap` over warmup lengths or restart periods compiles one program, and a
jitted function building a schedule traces once for any values. Python integers are taken as
floats, so steps and lengths past int32 (decay_steps=10**10) work. Schedules are elementwise
in `step`, so `schedule(jnp.arange(n))` gives the whole curve. Concrete bad values raise
  cosine_decay(decay_steps=0)  ->  ValueError: cosine_decay(decay_steps=0): decay_steps must
                                   be in [1, inf), got 0
A traced length of 0 (a vmapped sweep over lengths that includes 0) is a phase that is over
from its start: cosine, linear and SGDR decays give their final value, a warmup of length 0
is no warmup; values and derivatives stay finite (no 0 / 0, optax issue #1403).
"""
import math
from typing import Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import (
    NONNEGATIVE, POSITIVE, PROBABILITY, Interval, check, check_flag, is_concrete)
from jaxopt_lab.optim.base import Scalar, Schedule, safe_div

__all__ = ["constant", "step_decay", "multistep_decay", "exponential_decay", "cosine_decay",
           "linear_decay", "inverse_sqrt", "warmup", "sgdr"]

STEPS = Interval(1.0, math.inf)  # a length in steps: decay_steps, periods, total_steps
Scalars = Union[Sequence[Scalar], jax.Array]


def _float(step) -> jax.Array:
  """The step count as a float array (float64 under x64), so step arithmetic is traceable."""
  return jnp.asarray(step, dtype=float)


def _real(value):
  """A Python int as a float (jax would make it an int32, which overflows past 2**31 - 1)."""
  return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _progress(step, length) -> jax.Array:
  """min(max(t, 0), T) / T, and 1 for a phase of length T = 0 (over from its start); finite
  in value and derivatives at T = 0."""
  positive = jnp.asarray(length) > 0
  return jnp.where(positive, jnp.clip(safe_div(_float(step), length), 0.0, 1.0), 1.0)


def _power_of_nonnegative(base, exponent) -> jax.Array:
  """base ** exponent for base >= 0 and exponent > 0, with finite derivatives at base = 0
  (where d/d exponent of 0 ** e would be 0 * log 0 = NaN)."""
  positive = base > 0
  return jnp.where(positive, jnp.where(positive, base, 1.0) ** exponent, 0.0)


def _check_each(call: str, name: str, values: Scalars, interval: Interval) -> None:
  """`check` for each concrete entry of a sequence or array (tracers pass)."""
  if isinstance(values, (list, tuple)):
    for value in values:
      check(call, **{name: (value, interval)})
  elif is_concrete(values):
    try:
      values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
      raise ValueError(f"{call}({name}={values!r:.40}): {name} must be a sequence of numbers "
                       f"or a 1-D array, got {values!r:.40}") from None
    for value in np.ravel(values):
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
  init_value, gamma = _real(init_value), _real(gamma)
  try:
    stacked = jnp.asarray(boundaries, dtype=float).reshape(-1)
  except (TypeError, ValueError):
    raise ValueError(f"multistep_decay(boundaries=...): boundaries must be a sequence of numbers "
                     f"or a 1-D array, got {boundaries!r:.40}") from None

  def schedule(step):
    passed = jnp.sum(jnp.expand_dims(_float(step), -1) >= stacked, axis=-1)
    # gamma^0 as 1^0: its derivative at gamma = 0 is 0, not 0 * 0^-1 = NaN
    return init_value * jnp.where(passed > 0, gamma, 1.0) ** passed

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
  boundaries = jnp.round(jnp.asarray(fractions, dtype=float).reshape(-1) * _real(total_steps))
  return multistep_decay(init_value, boundaries, gamma)


def exponential_decay(init_value: Scalar, transition_steps: Scalar, decay_rate: Scalar,
                      staircase: Union[bool, jax.Array] = False, transition_begin: Scalar = 0,
                      end_value: Optional[Scalar] = None) -> Schedule:
  """Exponential decay that starts after transition_begin steps (optax.exponential_decay):

    lr(t) = init_value                                   for t <= b = transition_begin
    lr(t) = init_value * decay_rate^((t - b) / T)        for t > b,  T = transition_steps

  with floor((t - b) / T) in the exponent when staircase=True. With end_value, the rate stops
  there: max(lr(t), end_value) for decay_rate < 1, min(lr(t), end_value) for a growing rate.
  torch's ExponentialLR(gamma) is transition_steps=1, decay_rate=gamma, and StepLR(step_size,
  gamma) is transition_steps=step_size, decay_rate=gamma, staircase=True. As in optax, a traced
  transition_steps or decay_rate of 0 gives the constant init_value.
  """
  check("exponential_decay", init_value=(init_value, NONNEGATIVE),
        transition_steps=(transition_steps, STEPS), decay_rate=(decay_rate, POSITIVE),
        transition_begin=(transition_begin, NONNEGATIVE))
  if end_value is not None:
    check("exponential_decay", end_value=(end_value, NONNEGATIVE))
  check_flag("exponential_decay", traceable=True, staircase=staircase)
  init_value, transition_steps = _real(init_value), _real(transition_steps)
  transition_begin, end_value = _real(transition_begin), _real(end_value)

  def schedule(step):
    elapsed = jnp.maximum(_float(step) - transition_begin, 0.0)
    progress = safe_div(elapsed, transition_steps)
    progress = jnp.where(staircase, jnp.floor(progress), progress)
    decaying = jnp.asarray(_real(decay_rate)) > 0
    value = init_value * jnp.where(decaying, decay_rate, 1.0) ** progress
    if end_value is None:
      return value
    return jnp.where(jnp.asarray(_real(decay_rate)) < 1, jnp.maximum(value, end_value),
                     jnp.minimum(value, end_value))

  return schedule


def cosine_decay(init_value: Scalar, decay_steps: Scalar, eta_min: Scalar = 0.0,
                 exponent: Scalar = 1.0) -> Schedule:
  """lr(t) = eta_min + (init_value - eta_min) c(t)^exponent,
  c(t) = (1 + cos(pi min(t, T) / T)) / 2,  T = decay_steps.

  eta_min is the final rate itself, as in torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T,
  eta_min) (exponent 1); optax.cosine_decay_schedule(init_value, T, alpha, exponent) is
  eta_min = alpha init_value. After T steps the rate stays at eta_min, as in optax (torch's
  cosine would rise again).
  """
  check("cosine_decay", init_value=(init_value, NONNEGATIVE), decay_steps=(decay_steps, STEPS),
        eta_min=(eta_min, NONNEGATIVE), exponent=(exponent, POSITIVE))
  init_value, decay_steps, eta_min = _real(init_value), _real(decay_steps), _real(eta_min)

  def schedule(step):
    progress = _progress(step, decay_steps)
    cosine = jnp.maximum(0.5 * (1 + jnp.cos(jnp.pi * progress)), 0.0)
    return eta_min + (init_value - eta_min) * _power_of_nonnegative(cosine, exponent)

  return schedule


def linear_decay(init_value: Scalar, decay_steps: Scalar, end_value: Scalar = 0.0) -> Schedule:
  """lr(t) = init_value + (end_value - init_value) min(t, T) / T,  T = decay_steps.

  optax.linear_schedule(init_value, end_value, T); torch's LinearLR(start_factor, end_factor,
  total_iters=T) with base rate r is init_value = r start_factor, end_value = r end_factor.
  """
  check("linear_decay", init_value=(init_value, NONNEGATIVE), decay_steps=(decay_steps, STEPS),
        end_value=(end_value, NONNEGATIVE))
  init_value, decay_steps, end_value = _real(init_value), _real(decay_steps), _real(end_value)

  def schedule(step):
    return init_value + (end_value - init_value) * _progress(step, decay_steps)

  return schedule


def inverse_sqrt(init_value: Scalar, timescale: Scalar) -> Schedule:
  """lr(t) = init_value sqrt(timescale / (timescale + t)) = init_value / sqrt(1 + t / timescale).

  Starts at init_value and falls like 1 / sqrt(t). After a linear warmup of length w,
  `warmup(inverse_sqrt(peak, w), w)` is the Transformer's schedule (Vaswani et al. 2017):
  peak t / w for t < w, then peak sqrt(w / t), since the decay's step is counted from t = w.
  A traced timescale of 0 gives init_value at t = 0 and 0 after.
  """
  check("inverse_sqrt", init_value=(init_value, NONNEGATIVE), timescale=(timescale, POSITIVE))
  init_value, timescale = _real(init_value), _real(timescale)

  def schedule(step):
    t = _float(step)
    ratio = jnp.where(jnp.asarray(timescale) > 0, safe_div(t, timescale),
                      jnp.where(t > 0, jnp.inf, 0.0))
    return init_value * jax.lax.rsqrt(1 + ratio)

  return schedule


def warmup(schedule: Schedule, warmup_steps: Scalar, init_value: Scalar = 0.0) -> Schedule:
  """Linear warmup from init_value into `schedule` (any function step -> rate):

    lr(t) = init_value + (schedule(0) - init_value) t / w   for t < w = warmup_steps
    lr(t) = schedule(t - w)                                 for t >= w

  The wrapped schedule's step is counted from the end of the warmup, so it runs its whole
  course after it: optax.warmup_cosine_decay_schedule(i, p, w, T, e) is
  warmup(cosine_decay(p, T - w, e), w, i). warmup_steps=0 gives `schedule` unchanged.
  """
  check("warmup", warmup_steps=(warmup_steps, NONNEGATIVE), init_value=(init_value, NONNEGATIVE))
  if not callable(schedule):
    raise ValueError(f"warmup(schedule={schedule!r:.40}): schedule must be a function step -> "
                     f"rate (a schedule), got {schedule!r:.40}")
  warmup_steps, init_value = _real(warmup_steps), _real(init_value)

  def warmed_up(step):
    t = _float(step)
    peak = schedule(jnp.zeros_like(step))
    ramp = init_value + (peak - init_value) * safe_div(t, warmup_steps)
    after = schedule(jnp.maximum(t - warmup_steps, 0))
    return jnp.where(t < warmup_steps, ramp, after)

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
  integer m; here m is any real >= 1. A traced first_period of 0 gives eta_min throughout.
  """
  check("sgdr", init_value=(init_value, NONNEGATIVE), first_period=(first_period, STEPS),
        period_multiplier=(period_multiplier, Interval(1.0, math.inf)),
        eta_min=(eta_min, NONNEGATIVE))
  init_value, eta_min = _real(init_value), _real(eta_min)
  first_period, period_multiplier = _real(first_period), _real(period_multiplier)
  has_length = jnp.asarray(first_period) > 0
  first = jnp.where(has_length, first_period, 1.0)  # a length-0 period: see the end
  geometric = jnp.asarray(period_multiplier) != 1
  log_m = jnp.log(jnp.where(geometric, period_multiplier, 2.0))

  def restart_start(i):
    """S_i, with (m^i - 1) / (m - 1) written as expm1(i log m) / (m - 1) for m near 1."""
    growth = jnp.expm1(i * log_m) / jnp.where(geometric, period_multiplier - 1, 1.0)
    return first * jnp.where(geometric, growth, i)

  def schedule(step):
    t = _float(step)
    ratio = t / first
    grown = jnp.log1p(ratio * jnp.where(geometric, period_multiplier - 1, 0.0)) / log_m
    i = jnp.floor(jnp.where(geometric, grown, ratio))
    reached = t + 64 * jnp.finfo(t.dtype).eps * jnp.maximum(t, 1)  # restarts at or before t
    i = jnp.where(restart_start(i) > reached, i - 1, i)
    i = jnp.where(restart_start(i + 1) <= reached, i + 1, i)
    period = first * jnp.where(geometric, jnp.exp(i * log_m), 1.0)
    progress = jnp.where(has_length, (t - restart_start(i)) / period, 1.0)
    return eta_min + (init_value - eta_min) * 0.5 * (1 + jnp.cos(jnp.pi * progress))

  return schedule
