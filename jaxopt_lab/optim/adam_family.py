"""Adam's relatives: NAdam, RAdam, Adamax and AdaBelief, and Adam without its first moment.

Every block starts its moments at 0 and counts steps t = 1, 2, ... in an int32 `count`;
m is the moving average b1 m + (1 - b1) g, v the moving average of |g|^2 (complex leaves:
g conj(g)), and the bias corrections are c1 = 1 - b1^t, c2 = 1 - b2^t. Each docstring
writes the update rule and names the torch.optim or optax call it equals step for step.
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, UNIT, Interval, check, check_same_tree
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.arithmetic import (
    bias_correction, magnitude, moving_average, scalar_dtype)
from jaxopt_lab.optim.base import (
    Scalar, ScalarOrSchedule, cast_like, known_positive, over_root_plus_eps, safe_div, safe_sqrt,
    wide)
from jaxopt_lab.optim.blocks import with_learning_rate

__all__ = [
    "scale_by_nadam", "scale_by_radam", "scale_by_adamax", "scale_by_belief",
    "scale_by_debiased_rms", "nadam", "radam", "adamax", "adabelief",
    "ScaleByNadamState", "ScaleByRadamState", "ScaleByAdamaxState", "ScaleByBeliefState",
    "ScaleByDebiasedRmsState"]

UP_TO_INFINITY = Interval(0.0, math.inf, closed_high=True)  # [0, inf]


def _zeros(params):
  return optax.tree.zeros_like(params)


def _count():
  return jnp.zeros([], jnp.int32)


class ScaleByNadamState(NamedTuple):
  count: jax.Array       # int32: updates applied so far
  mu_product: jax.Array  # mu_1 mu_2 ... mu_t, a scalar in at least float32
  mu: optax.Updates
  nu: optax.Updates


def scale_by_nadam(b1: Scalar = 0.9, b2: Scalar = 0.999, eps: Scalar = 1e-8,
                   momentum_decay: Scalar = 4e-3) -> optax.GradientTransformation:
  """NAdam (Dozat 2016): Adam with Nesterov momentum and a warming momentum schedule,

    mu_t = b1 (1 - 0.5 * 0.96^(t momentum_decay)),   P_t = mu_1 mu_2 ... mu_t
    update = [(1 - mu_t) / (1 - P_t) g + mu_{t+1} / (1 - P_t mu_{t+1}) m] / (sqrt(v / c2) + eps)

  as torch.optim.NAdam. momentum_decay = inf makes mu_t = b1, Dozat's simplified form that
  optax.nadam (optax.scale_by_adam(nesterov=True)) computes.
  """
  check("scale_by_nadam", b1=(b1, UNIT), b2=(b2, UNIT), eps=(eps, NONNEGATIVE),
        momentum_decay=(momentum_decay, UP_TO_INFINITY))
  return unchecked_nadam(b1, b2, eps, momentum_decay)


def unchecked_nadam(b1, b2, eps, momentum_decay) -> optax.GradientTransformation:
  """`scale_by_nadam` without its range checks, for a factory that checks these values
  under its own names (`muon` checks adam_b1 and adam_b2)."""

  def momentum_at(t):
    return b1 * (1 - 0.5 * jnp.power(0.96, t * momentum_decay))

  def init(params):
    return ScaleByNadamState(_count(), jnp.ones([], scalar_dtype(params)), _zeros(params),
                             _zeros(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_nadam.update", ("grads", grads), ("state.mu", state.mu),
                    ("state.nu", state.nu))
    count = optax.safe_int32_increment(state.count)
    t = count.astype(state.mu_product.dtype)
    mu_now, mu_next = momentum_at(t), momentum_at(t + 1)
    product = state.mu_product * mu_now
    gradient_weight = (1 - mu_now) / (1 - product)
    momentum_weight = mu_next / (1 - product * mu_next)
    mu = moving_average(state.mu, grads, b1, 1)
    nu = moving_average(state.nu, grads, b2, 2)
    root_c2 = jnp.sqrt(bias_correction(b2, count))
    updates = jax.tree.map(
        lambda g, m, v: over_root_plus_eps(gradient_weight * wide(g) + momentum_weight * m,
                                           safe_sqrt(v) / root_c2, eps).astype(g.dtype),
        grads, mu, nu)
    return updates, ScaleByNadamState(count, product.astype(state.mu_product.dtype),
                                      cast_like(mu, state.mu), cast_like(nu, state.nu))

  return optax.GradientTransformation(init, update)


class ScaleByRadamState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  mu: optax.Updates
  nu: optax.Updates


RECTIFICATION_THRESHOLD = 5.0  # torch.optim.RAdam rectifies once rho_t > 5


def scale_by_radam(b1: Scalar = 0.9, b2: Scalar = 0.999,
                   eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """RAdam (Liu et al. 2020), rectified Adam, as torch.optim.RAdam:

    rho_inf = 2 / (1 - b2) - 1,   rho_t = rho_inf - 2 t b2^t / c2
    update = r_t (m / c1) sqrt(c2) / (sqrt(v) + eps)   where rho_t > 5,
             r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    update = m / c1                                    before (momentum SGD; t <= 5 for 0.999)

  eps sits outside sqrt(v) before v is bias-corrected, as in torch; optax.radam adds it to
  sqrt(v / c2) and switches at rho_t >= 5, so the two differ slightly.
  """
  check("scale_by_radam", b1=(b1, UNIT), b2=(b2, UNIT), eps=(eps, NONNEGATIVE))
  rho_inf = 2 / (1 - b2) - 1

  def init(params):
    return ScaleByRadamState(_count(), _zeros(params), _zeros(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_radam.update", ("grads", grads), ("state.mu", state.mu),
                    ("state.nu", state.nu))
    count = optax.safe_int32_increment(state.count)
    c1, c2 = bias_correction(b1, count), bias_correction(b2, count)
    t = count.astype(c2.dtype)
    rho = rho_inf - 2 * t * (1 - c2) / c2
    rectified = rho > RECTIFICATION_THRESHOLD
    # the rectifier only where it is used (double where: finite derivatives elsewhere)
    numerator = jnp.where(rectified, (rho - 4) * (rho - 2) * rho_inf, 1.0)
    denominator = jnp.where(rectified, (rho_inf - 4) * (rho_inf - 2) * rho, 1.0)
    factor = jnp.where(rectified, jnp.sqrt(numerator / denominator) * jnp.sqrt(c2), 0.0)
    mu = moving_average(state.mu, grads, b1, 1)
    nu = moving_average(state.nu, grads, b2, 2)

    def step(m, v, g):
      adaptive = over_root_plus_eps(factor * m, safe_sqrt(v), eps)
      return (jnp.where(rectified, adaptive, m) / c1).astype(g.dtype)

    updates = jax.tree.map(step, mu, nu, grads)
    return updates, ScaleByRadamState(count, cast_like(mu, state.mu), cast_like(nu, state.nu))

  return optax.GradientTransformation(init, update)


class ScaleByAdamaxState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  mu: optax.Updates
  nu: optax.Updates  # the exponentially weighted infinity norm u


def scale_by_adamax(b1: Scalar = 0.9, b2: Scalar = 0.999,
                    eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """Adamax (Kingma & Ba 2015, section 7), Adam with the infinity norm:

    u <- max(b2 u, |g| + eps);   update = m / (c1 u)

  as torch.optim.Adamax and optax.adamax (u has no bias correction).
  """
  check("scale_by_adamax", b1=(b1, UNIT), b2=(b2, UNIT), eps=(eps, NONNEGATIVE))

  def init(params):
    return ScaleByAdamaxState(_count(), _zeros(params), _zeros(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_adamax.update", ("grads", grads), ("state.mu", state.mu),
                    ("state.nu", state.nu))
    count = optax.safe_int32_increment(state.count)
    c1 = bias_correction(b1, count)
    mu = moving_average(state.mu, grads, b1, 1)
    nu = jax.tree.map(
        lambda u, g: jnp.maximum(b2 * jnp.real(wide(u)), magnitude(wide(g)) + eps),
        state.nu, grads)
    positive = known_positive(eps)   # then u >= eps > 0
    updates = jax.tree.map(lambda m, u, g: safe_div(m, c1 * u, positive).astype(g.dtype),
                           mu, nu, grads)
    return updates, ScaleByAdamaxState(count, cast_like(mu, state.mu), cast_like(nu, state.nu))

  return optax.GradientTransformation(init, update)


class ScaleByBeliefState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  mu: optax.Updates
  nu: optax.Updates  # s, the moving average of |g - m|^2 (plus eps_root each step)


def scale_by_belief(b1: Scalar = 0.9, b2: Scalar = 0.999, eps: Scalar = 1e-16,
                    eps_root: Scalar = 1e-16) -> optax.GradientTransformation:
  """AdaBelief (Zhuang et al. 2020): Adam whose second moment is the "belief" |g - m|^2,

    s <- b2 s + (1 - b2) |g - m|^2 + eps_root;   update = (m / c1) / (sqrt(s / c2) + eps)

  with m already updated, as optax.scale_by_belief (optax's defaults eps = eps_root = 1e-16;
  the paper's are eps = 1e-8, eps_root = 0).
  """
  check("scale_by_belief", b1=(b1, UNIT), b2=(b2, UNIT), eps=(eps, NONNEGATIVE),
        eps_root=(eps_root, NONNEGATIVE))

  def init(params):
    return ScaleByBeliefState(_count(), _zeros(params), _zeros(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_belief.update", ("grads", grads), ("state.mu", state.mu),
                    ("state.nu", state.nu))
    count = optax.safe_int32_increment(state.count)
    c1, root_c2 = bias_correction(b1, count), jnp.sqrt(bias_correction(b2, count))
    mu = moving_average(state.mu, grads, b1, 1)
    surprise = jax.tree.map(lambda g, m: wide(g) - m, grads, mu)
    nu = jax.tree.map(lambda s: s + eps_root, moving_average(state.nu, surprise, b2, 2))
    updates = jax.tree.map(
        lambda m, s, g: over_root_plus_eps(m / c1, safe_sqrt(s) / root_c2, eps).astype(g.dtype),
        mu, nu, grads)
    return updates, ScaleByBeliefState(count, cast_like(mu, state.mu), cast_like(nu, state.nu))

  return optax.GradientTransformation(init, update)


class ScaleByDebiasedRmsState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  nu: optax.Updates


def scale_by_debiased_rms(b2: Scalar = 0.999, eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """Adam without its first moment (b1 = 0), without storing one:

    v <- b2 v + (1 - b2) |g|^2;   update = g / (sqrt(v / c2) + eps),  c2 = 1 - b2^t

  optax.scale_by_rms(b2, eps, eps_in_sqrt=False, bias_correction=True); the base of
  `schedule_free_adamw`, whose averaging replaces the momentum.
  """
  check("scale_by_debiased_rms", b2=(b2, UNIT), eps=(eps, NONNEGATIVE))

  def init(params):
    return ScaleByDebiasedRmsState(_count(), _zeros(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_debiased_rms.update", ("grads", grads), ("state.nu", state.nu))
    count = optax.safe_int32_increment(state.count)
    root_c2 = jnp.sqrt(bias_correction(b2, count))
    nu = moving_average(state.nu, grads, b2, 2)
    updates = jax.tree.map(
        lambda g, v: over_root_plus_eps(wide(g), safe_sqrt(v) / root_c2, eps).astype(g.dtype),
        grads, nu)
    return updates, ScaleByDebiasedRmsState(count, cast_like(nu, state.nu))

  return optax.GradientTransformation(init, update)


@optimizer
def nadam(learning_rate: ScalarOrSchedule = 2e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
          eps: Scalar = 1e-8, momentum_decay: Scalar = 4e-3) -> optax.GradientTransformation:
  """NAdam: w <- w - lr [(1 - mu_t) / (1 - P_t) g + mu_{t+1} / (1 - P_{t+1}) m] /
  (sqrt(v_hat) + eps), mu_t = b1 (1 - 0.5 * 0.96^(t momentum_decay)) (torch.optim.NAdam,
  Dozat 2016); see `scale_by_nadam`."""
  return with_learning_rate(scale_by_nadam(b1, b2, eps, momentum_decay),
                            learning_rate=learning_rate)


@optimizer
def radam(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
          eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """RAdam: w <- w - lr r_t m_hat sqrt(c2) / (sqrt(v) + eps) once rho_t > 5, w <- w - lr m_hat
  before (torch.optim.RAdam, Liu et al. 2020); see `scale_by_radam`."""
  return with_learning_rate(scale_by_radam(b1, b2, eps), learning_rate=learning_rate)


@optimizer
def adamax(learning_rate: ScalarOrSchedule = 2e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
           eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """Adamax: u <- max(b2 u, |g| + eps); w <- w - lr m / ((1 - b1^t) u) (torch.optim.Adamax,
  optax.adamax; Kingma & Ba 2015)."""
  return with_learning_rate(scale_by_adamax(b1, b2, eps), learning_rate=learning_rate)


@optimizer
def adabelief(learning_rate: ScalarOrSchedule = 1e-3, b1: Scalar = 0.9, b2: Scalar = 0.999,
              eps: Scalar = 1e-16, eps_root: Scalar = 1e-16) -> optax.GradientTransformation:
  """AdaBelief: s <- b2 s + (1 - b2) |g - m|^2 + eps_root; w <- w - lr m_hat / (sqrt(s_hat)
  + eps) (optax.adabelief, Zhuang et al. 2020); see `scale_by_belief`."""
  return with_learning_rate(scale_by_belief(b1, b2, eps, eps_root),
                            learning_rate=learning_rate)
