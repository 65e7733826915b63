"""Gradient transformations: the building blocks every optimizer is a chain of.

Each block is an `optax.GradientTransformation` and follows torch.optim's conventions where
the lectures leave a choice. Every numeric hyperparameter may be a Python number, a scalar
array or a tracer, so a factory called inside `jax.jit` or `jax.vmap` traces once for any
values. Blocks compute in at least float32 and return updates in the gradients' dtype and
state in its own dtype: hyperparameters keep their precision (with bfloat16 gradients,
b2 = 0.999 stays 0.999 where bfloat16 arithmetic would round it to 1.0).

Every square root and division is safe at its degenerate points (`base.safe_sqrt`,
`_scaled`): a zero gradient with eps = 0 gives a zero update, and derivatives through a step
(hypergradients) stay finite. Complex leaves follow optax (`base`): second moments hold
|g|^2 = g conj(g) in the leaf's real dtype.

An optimizer ends with `with_learning_rate(*blocks, learning_rate=...)`: the blocks, then
u <- -lr(t) u, with one step count t in the whole state (optax.tree.get(state, "count")).
"""
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    NONNEGATIVE, UNIT, check, check_flag, check_params, check_same_tree)
from jaxopt_lab.optim.base import (
    Scalar, ScalarOrSchedule, abs_sq, canonical_dtype, cast_like, check_transforms,
    known_positive, known_zero, real_zeros_like, safe_sqrt, step_count, wide)

__all__ = [
    "scale_by_learning_rate", "with_learning_rate", "scale_by_momentum", "scale_by_nesterov",
    "scale_by_adagrad", "scale_by_rmsprop", "scale_by_adam", "add_decayed_weights",
    "ScaleByLearningRateState", "ScaleByMomentumState", "ScaleByNesterovState",
    "ScaleByAdagradState", "ScaleByRmspropState", "ScaleByCenteredRmspropState",
    "ScaleByAdamState", "ScaleByAmsgradState"]


def _moving_average(average, grads, decay, power):
  """decay * average + (1 - decay) * g (power 1) or |g|^2 (power 2), in wide precision.

  The new term is written as |sqrt(1 - decay) g|^2 for power 2: equal in exact arithmetic,
  but it overflows only when the term itself does (float32: |g| > 1.8e19 / sqrt(1 - decay),
  5.8e20 for decay 0.999), where g^2 alone overflows at |g| > 1.8e19.
  """
  if power == 2:
    weight = jnp.sqrt(1 - decay)
    return jax.tree.map(lambda a, g: decay * wide(a) + abs_sq(weight * wide(g)), average, grads)
  return jax.tree.map(lambda a, g: decay * wide(a) + (1 - decay) * wide(g), average, grads)


def _bias_correction(decay, count, enabled):
  """1 - decay**count (count >= 1), or 1 where bias correction is off (traceable either way).

  Written as -expm1(count log1p(-(1 - decay))) so that it keeps full relative precision for
  decay near 1 (1 - 0.999**1 in float32 would be off by 1e-5); at decay = 0, where the log is
  -inf, as 1 - decay**count, whose derivative there is finite (-1 for count = 1).
  """
  one_minus = 1 - decay  # exact in Python arithmetic for a Python float decay
  positive = jnp.asarray(decay) > 0
  smooth = -jnp.expm1(count * jnp.log1p(-jnp.where(positive, one_minus, 0.5)))
  at_zero = 1 - jnp.power(jnp.where(positive, 0.0, decay), count)
  return jnp.where(enabled, jnp.where(positive, smooth, at_zero), 1.0)


def _zeros_in(params, dtype):
  """Zeros like `params`, in `dtype` where given (a complex leaf keeps a complex buffer of at
  least that precision), else in each leaf's dtype."""
  if dtype is None:
    return optax.tree.zeros_like(params)
  return jax.tree.map(
      lambda x: jnp.zeros(jnp.shape(x), jnp.promote_types(dtype, x.dtype)
                          if jnp.iscomplexobj(x) else dtype), params)


class ScaleByLearningRateState(NamedTuple):
  count: jax.Array  # int32: updates applied so far; a schedule is evaluated at it


def _descend(updates, learning_rate: ScalarOrSchedule, count):
  rate = learning_rate(count) if callable(learning_rate) else learning_rate
  return jax.tree.map(lambda u: (-rate * wide(u)).astype(u.dtype), updates)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  """u <- -learning_rate * u, the descent step.

  `learning_rate` is a number, a scalar array, a tracer or a schedule `step -> rate`, called
  with the int32 count of earlier updates (0 on the first, as in optax and torch.optim).
  After blocks that keep their own count (Adam's), use `with_learning_rate` instead, so that
  the state holds one count.
  """
  check("scale_by_learning_rate", learning_rate=(learning_rate, NONNEGATIVE))

  def init(params):
    del params
    return ScaleByLearningRateState(jnp.zeros([], jnp.int32))

  def update(updates, state, params=None):
    del params
    updates = _descend(updates, learning_rate, state.count)
    return updates, ScaleByLearningRateState(optax.safe_int32_increment(state.count))

  return optax.GradientTransformation(init, update)


def with_learning_rate(*blocks: optax.GradientTransformation,
                       learning_rate: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
  """optax.chain(*blocks, scale_by_learning_rate(learning_rate)) with one step count:

    u <- -lr(t) * blocks(g),   t = updates applied so far (0 on the first)

  When a block keeps a count (a NamedTuple field `count`, as `scale_by_adam` does), the
  learning-rate stage reads t from it and stores nothing; otherwise it keeps the count itself.
  Either way `optax.tree.get(state, "count")` finds exactly one, and a schedule sees the
  updates applied (a step skipped by `skip_nonfinite` keeps the state, so it does not count).
  The state is the tuple of the blocks' states and the stage's, as optax.chain's; extra
  keyword arguments of `update` reach every block (Newton's value_fn).
  """
  check_transforms("with_learning_rate", "blocks", blocks)
  stage = scale_by_learning_rate(learning_rate)
  blocks = [optax.with_extra_args_support(block) for block in blocks]

  def init(params):
    states = tuple(block.init(params) for block in blocks)
    own = stage.init(params) if step_count(states) is None else optax.EmptyState()
    return (*states, own)

  def update(updates, state, params=None, **extra_args):
    *states, own = state
    count = step_count(tuple(states))
    new_states = []
    for block, block_state in zip(blocks, states):
      updates, block_state = block.update(updates, block_state, params, **extra_args)
      new_states.append(block_state)
    if count is None:
      updates, own = stage.update(updates, own, params)
    else:
      updates = _descend(updates, learning_rate, count)
    return updates, (*new_states, own)

  return optax.GradientTransformationExtraArgs(init, update)


class ScaleByMomentumState(NamedTuple):
  velocity: optax.Updates


def _heavy_ball(beta: Scalar, accumulator_dtype, call: str) -> optax.GradientTransformation:
  """v <- beta v + g; the update is v (no checks: the caller owns beta)."""
  def init(params):
    return ScaleByMomentumState(_zeros_in(params, accumulator_dtype))

  def update(grads, state, params=None):
    del params
    check_same_tree(f"{call}.update", ("grads", grads), ("state.velocity", state.velocity))
    v = jax.tree.map(lambda v, g: beta * wide(v) + wide(g), state.velocity, grads)
    return cast_like(v, grads), ScaleByMomentumState(cast_like(v, state.velocity))

  return optax.GradientTransformation(init, update)


def scale_by_momentum(beta: Scalar = 0.9,
                      accumulator_dtype=None) -> optax.GradientTransformation:
  """Heavy ball (Polyak 1964): v <- beta * v + g; the update is v.

  Followed by `scale_by_learning_rate` this is torch.optim.SGD(momentum=beta, dampening=0).
  `accumulator_dtype` (e.g. jnp.bfloat16, to halve its memory) is the dtype v is stored in, as
  optax.trace's; v is computed in at least float32 and the update is not rounded to it.
  """
  check("scale_by_momentum", beta=(beta, UNIT))
  accumulator_dtype = canonical_dtype("scale_by_momentum", "accumulator_dtype",
                                      accumulator_dtype)
  return _heavy_ball(beta, accumulator_dtype, "scale_by_momentum")


class ScaleByNesterovState(NamedTuple):
  velocity: optax.Updates


def scale_by_nesterov(beta: Scalar = 0.9,
                      accumulator_dtype=None) -> optax.GradientTransformation:
  """Nesterov momentum (Sutskever et al. 2013): v <- beta * v + g; the update is g + beta * v.

  Followed by `scale_by_learning_rate` this is torch.optim.SGD(momentum=beta, nesterov=True),
  the lectures' change-of-variables form with the learning rate taken out of the velocity
  (see `nesterov_change_of_variables`). `accumulator_dtype`: as in `scale_by_momentum`.
  """
  check("scale_by_nesterov", beta=(beta, UNIT))
  accumulator_dtype = canonical_dtype("scale_by_nesterov", "accumulator_dtype",
                                      accumulator_dtype)

  def init(params):
    return ScaleByNesterovState(_zeros_in(params, accumulator_dtype))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_nesterov.update", ("grads", grads),
                    ("state.velocity", state.velocity))
    v = jax.tree.map(lambda v, g: beta * wide(v) + wide(g), state.velocity, grads)
    updates = jax.tree.map(lambda v, g: (wide(g) + beta * v).astype(g.dtype), v, grads)
    return updates, ScaleByNesterovState(cast_like(v, state.velocity))

  return optax.GradientTransformation(init, update)


def _scaled(numerators, denominators, eps, like):
  """numerator / (denominator + eps) leaf by leaf, in the dtypes of the leaves of `like` (the
  gradients). The denominator is 0 only with eps = 0 where the second moment is 0, that is
  where every earlier gradient was 0 or underflowed in it: the numerator (m or g) is then 0 or
  as small, and is returned as it is instead of 0 / 0 (one select, finite derivatives)."""
  positive = known_positive(eps)   # then d + eps >= eps > 0: no select

  def scale(n, d, g):
    d = d + eps
    return (wide(n) / (d if positive else jnp.where(d == 0, 1, d))).astype(g.dtype)
  return jax.tree.map(scale, numerators, denominators, like)


class ScaleByAdagradState(NamedTuple):
  sum_of_squares: optax.Updates


def scale_by_adagrad(eps: Scalar = 1e-7) -> optax.GradientTransformation:
  """AdaGrad (Duchi et al. 2011): s <- s + |g|^2; the update is g / (sqrt(s) + eps).

  s starts at 0 and eps sits outside the square root, as in torch.optim.Adagrad; with eps = 0
  a coordinate whose gradients were all 0 gets update 0.
  Range: s is a sum of squares, so it overflows once sqrt(sum of g^2) exceeds sqrt(max) of the
  state's dtype (1.8e19 in float32 and bfloat16, 256 in float16); from then on the update of
  that coordinate is 0. `skip_nonfinite` rejects such a step; a float16 model can keep its
  state in float32 by calling init on float32 copies of the parameters.
  """
  check("scale_by_adagrad", eps=(eps, NONNEGATIVE))

  def init(params):
    return ScaleByAdagradState(real_zeros_like(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_adagrad.update", ("grads", grads),
                    ("state.sum_of_squares", state.sum_of_squares))
    s = jax.tree.map(lambda s, g: wide(s) + abs_sq(wide(g)), state.sum_of_squares, grads)
    updates = _scaled(grads, jax.tree.map(safe_sqrt, s), eps, grads)
    return updates, ScaleByAdagradState(cast_like(s, state.sum_of_squares))

  return optax.GradientTransformation(init, update)


class ScaleByRmspropState(NamedTuple):
  mean_square: optax.Updates


class ScaleByCenteredRmspropState(NamedTuple):
  mean_square: optax.Updates
  mean: optax.Updates


def scale_by_rmsprop(decay: Scalar = 0.99, eps: Scalar = 1e-8,
                     centered: bool = False) -> optax.GradientTransformation:
  """RMSProp, "leaky AdaGrad" (Tieleman & Hinton 2012):

    s <- decay * s + (1 - decay) * |g|^2;   the update is g / (sqrt(s) + eps)

  With centered=True (Graves 2013), also m <- decay * m + (1 - decay) * g and the update is
  g / (sqrt(max(s - |m|^2, 0)) + eps): the variance instead of the second moment (state
  `ScaleByCenteredRmspropState`; the max clips rounding below 0).
  s and m start at 0 and eps sits outside the square root, as in torch.optim.RMSprop(alpha=
  decay, centered); not optax.scale_by_rms, which puts eps inside the square root (hence the
  other name). Range: as for `scale_by_adam` with b2 = decay.
  """
  check("scale_by_rmsprop", decay=(decay, UNIT), eps=(eps, NONNEGATIVE))
  check_flag("scale_by_rmsprop", centered=centered)

  def init(params):
    if centered:
      return ScaleByCenteredRmspropState(real_zeros_like(params),
                                         optax.tree.zeros_like(params))
    return ScaleByRmspropState(real_zeros_like(params))

  def update(grads, state, params=None):
    del params
    moments = [("state.mean_square", state.mean_square)]
    if centered:
      moments.append(("state.mean", state.mean))
    check_same_tree("scale_by_rmsprop.update", ("grads", grads), *moments)
    s = _moving_average(state.mean_square, grads, decay, 2)
    if centered:
      m = _moving_average(state.mean, grads, decay, 1)
      variance = jax.tree.map(lambda s, m: jnp.maximum(s - abs_sq(m), 0), s, m)
      updates = _scaled(grads, jax.tree.map(safe_sqrt, variance), eps, grads)
      return updates, ScaleByCenteredRmspropState(cast_like(s, state.mean_square),
                                                  cast_like(m, state.mean))
    updates = _scaled(grads, jax.tree.map(safe_sqrt, s), eps, grads)
    return updates, ScaleByRmspropState(cast_like(s, state.mean_square))

  return optax.GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  mu: optax.Updates
  nu: optax.Updates


class ScaleByAmsgradState(NamedTuple):
  count: jax.Array  # int32: updates applied so far
  mu: optax.Updates
  nu: optax.Updates
  nu_max: optax.Updates


def scale_by_adam(b1: Scalar = 0.9, b2: Scalar = 0.999, eps: Scalar = 1e-8,
                  bias_correction: bool = True, amsgrad: bool = False,
                  eps_root: Scalar = 0.0, mu_dtype=None) -> optax.GradientTransformation:
  """Adam (Kingma & Ba 2015), eps outside the square root as in torch.optim.Adam:

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) |g|^2;   t <- t + 1
    update = m_hat / (sqrt(v_hat + eps_root) + eps),   m_hat = m / (1 - b1^t),
                                                       v_hat = v / (1 - b2^t)

  eps_root (0 in torch; optax's eps_root) keeps the square root away from 0, so that the
  update is smooth in g at g = 0 (meta-learning through Adam); with eps_root = eps = 0 a zero
  gradient gives update 0. mu_dtype (e.g. jnp.bfloat16) is the dtype m is stored in, as
  optax's: half the memory of m in float32; v keeps the parameters' (real) dtype.

  With bias_correction=False, m_hat = m and v_hat = v: the lectures' first version, whose
  first step is g (1 - b1) / (|g| sqrt(1 - b2)), about 3x too large with the defaults.

  With amsgrad=True, AMSGrad as torch.optim.Adam(amsgrad=True) computes it: v_max <- max(v_max,
  v) of the raw v, then v_hat = v_max / (1 - b2^t) (state `ScaleByAmsgradState`). With
  bias_correction=False and eps=0 that is Algorithm 2 of Reddi, Kale & Kumar (2018) with a
  constant step and b1: update = m / sqrt(v_max). Not optax.scale_by_amsgrad, which takes the
  maximum of the bias-corrected v_hat (hence no block of that name here).

  Range: v is a running mean of g^2, computed as b2 v + (sqrt(1 - b2) g)^2 and divided as
  sqrt(v) / sqrt(1 - b2^t), so a single gradient up to sqrt(max) / sqrt(1 - b2) is absorbed
  (float32 and bfloat16: 5.8e20 for b2 = 0.999; float16 state: 8.1e3). Gradients that stay
  above sqrt(max) (1.8e19; float16: 256) make v infinite, and from then on that coordinate's
  update is 0. `skip_nonfinite` rejects such a step; a float16 model can keep its state in
  float32 by calling init on float32 copies of the parameters.
  """
  check("scale_by_adam", b1=(b1, UNIT), b2=(b2, UNIT), eps=(eps, NONNEGATIVE),
        eps_root=(eps_root, NONNEGATIVE))
  check_flag("scale_by_adam", amsgrad=amsgrad)
  check_flag("scale_by_adam", traceable=True, bias_correction=bias_correction)
  mu_dtype = canonical_dtype("scale_by_adam", "mu_dtype", mu_dtype)

  def init(params):
    # separate buffers for every moment, so a jitted step can donate the state
    count = jnp.zeros([], jnp.int32)
    mu, nu = _zeros_in(params, mu_dtype), real_zeros_like(params)
    if amsgrad:
      return ScaleByAmsgradState(count, mu, nu, real_zeros_like(params))
    return ScaleByAdamState(count, mu, nu)

  def update(grads, state, params=None):
    del params
    moments = [("state.mu", state.mu), ("state.nu", state.nu)]
    if amsgrad:
      moments.append(("state.nu_max", state.nu_max))
    check_same_tree("scale_by_adam.update", ("grads", grads), *moments)
    count = optax.safe_int32_increment(state.count)
    mu = _moving_average(state.mu, grads, b1, 1)
    nu = _moving_average(state.nu, grads, b2, 2)
    c1 = _bias_correction(b1, count, bias_correction)
    c2 = _bias_correction(b2, count, bias_correction)
    if amsgrad:
      nu_max = jax.tree.map(lambda old, v: jnp.maximum(wide(old), v), state.nu_max, nu)
    lifted = (lambda v: v) if known_zero(eps_root) else (lambda v: v + eps_root * c2)
    denominators = jax.tree.map(lambda v: safe_sqrt(lifted(v)) / jnp.sqrt(c2),
                                nu_max if amsgrad else nu)
    updates = _scaled(jax.tree.map(lambda m: m / c1, mu), denominators, eps, grads)
    mu, nu = cast_like(mu, state.mu), cast_like(nu, state.nu)
    if amsgrad:
      return updates, ScaleByAmsgradState(count, mu, nu, cast_like(nu_max, state.nu_max))
    return updates, ScaleByAdamState(count, mu, nu)

  return optax.GradientTransformation(init, update)


def add_decayed_weights(weight_decay: Scalar = 0.0) -> optax.GradientTransformation:
  """u <- u + weight_decay * w. Where it sits in a chain decides what it means:

  - before a preconditioner (momentum, Adam...) it is coupled L2 regularization, the
    gradient of weight_decay/2 |w|^2 (torch's `weight_decay` argument of SGD and Adam);
  - after it, just before the learning rate, it is decoupled weight decay (Loshchilov &
    Hutter 2019), w <- w - lr (update + weight_decay w), as in torch.optim.AdamW.
  For plain SGD the two coincide; for adaptive methods they do not.

  A weight_decay known to be 0 (not a tracer) leaves the updates as they are, without reading
  the parameters (0 * w would turn an infinite weight into NaN, and cost a pass over memory).
  """
  check("add_decayed_weights", weight_decay=(weight_decay, NONNEGATIVE))

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    check_params("add_decayed_weights", updates, params)
    if known_zero(weight_decay):
      return updates, state
    updates = jax.tree.map(lambda u, w: (wide(u) + weight_decay * wide(w)).astype(u.dtype),
                           updates, params)
    return updates, state

  return optax.GradientTransformation(init, update)
