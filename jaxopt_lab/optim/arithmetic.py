"""What the zoo's blocks share beyond optim.base (whose abs_sq, safe_sqrt, safe_div and
safe_norm they use): moving averages, bias corrections, RMS and signs that are safe at zero,
in value and in forward and reverse derivatives.

Complex leaves follow optax: |g|^2 = real(g conj(g)), a norm is the root of a sum of |g|^2,
a sign is g / |g| (0 at 0). A moment of |g|^2 is real; it is kept in the state's own dtype
(complex, with a zero imaginary part, when the parameters are complex, as optax keeps it) and
read back with `real`. Everything is computed in at least float32 (`wide`).

Safe at zero: sqrt and division have infinite or undefined derivatives at 0, and `jnp.where`
alone does not help (the untaken branch's derivative still multiplies a zero into NaN). Each
helper feeds its risky operation a harmless value where the result is not used (the
"double where"), so gradients through an optimizer (hypergradients) stay finite.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.optim.base import abs_sq, real_dtype, safe_div, safe_sqrt, wide


def scalar_dtype(tree) -> np.dtype:
  """The precision a scalar kept beside `tree` needs: at least float32, float64 if any leaf
  is (complex) float64. For counters and products of hyperparameters held in a state."""
  dtypes = [real_dtype(jnp.result_type(leaf)) for leaf in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]
  return jnp.result_type(jnp.float32, *dtypes)


def safe_rms(x: jax.Array) -> jax.Array:
  """sqrt(mean |x|^2) in wide precision, derivative 0 at x = 0; 0 for an empty x."""
  return safe_sqrt(jnp.sum(abs_sq(wide(x))) / max(jnp.size(x), 1))


def magnitude(x: jax.Array) -> jax.Array:
  """|x|: abs for a real x; for a complex one, safe_sqrt(|x|^2), whose derivative at 0 is 0
  (jnp.abs's is NaN there)."""
  return safe_sqrt(abs_sq(x)) if jnp.iscomplexobj(x) else jnp.abs(x)


def sign(x: jax.Array) -> jax.Array:
  """sign(x) for real x (derivative 0); x / |x| for complex x (as jnp.sign), 0 at 0."""
  x = wide(x)
  if not jnp.iscomplexobj(x):
    return jnp.sign(x)
  return safe_div(x, safe_sqrt(abs_sq(x)))


def moving_average(average, grads, decay, power: int = 1):
  """decay * average + (1 - decay) * g (power 1) or |g|^2 (power 2), leaf by leaf, wide.

  The square is taken as |sqrt(1 - decay) g|^2, which overflows only where the new term
  itself does (float32: |g| > 1.8e19 / sqrt(1 - decay)), not where g^2 alone would.
  """
  if power == 2:
    weight = jnp.sqrt(1 - decay)
    return jax.tree.map(lambda a, g: decay * jnp.real(wide(a)) + abs_sq(weight * wide(g)),
                        average, grads)
  return jax.tree.map(lambda a, g: decay * wide(a) + (1 - decay) * wide(g), average, grads)


def bias_correction(decay, count) -> jax.Array:
  """1 - decay^count, as -expm1(count log1p(-(1 - decay))): full relative precision for decay
  near 1, where 1 - 0.999 ** 1 in float32 would be off by 1e-5; at decay = 0, where the log is
  -inf, as 1 - decay^count, whose derivative there is finite (as blocks.scale_by_adam's)."""
  count = jnp.asarray(count)
  count = count.astype(jnp.result_type(float, count))
  positive = jnp.asarray(decay) > 0
  smooth = -jnp.expm1(count * jnp.log1p(-jnp.where(positive, 1 - decay, 0.5)))
  return jnp.where(positive, smooth, 1 - jnp.power(jnp.where(positive, 0.0, decay), count))

