"""Training on soft targets: label smoothing and mixup, as pure functions of arrays and a key.

  targets = smooth_labels(jax.nn.one_hot(y, 10), 0.1)     # [batch, classes] probabilities
  x, targets = mixup(x, targets, key, alpha=0.2)          # convex mixes of pairs of examples
  loss = losses.softmax_cross_entropy(model(x), targets)  # takes probabilities as targets

Both regularize by what the network is asked to predict: never a certain class (smoothing),
or a blend of two examples' classes for a blend of their inputs (mixup). Strengths may be
Python numbers, arrays or tracers; 0 leaves the targets (and inputs) exactly as they were.
"""
import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, PROBABILITY, check


def smooth_labels(one_hot: jax.Array, epsilon) -> jax.Array:
  """Label smoothing (Szegedy et al. 2016, Sec. 7): q' = (1 - eps) q + eps / K.

  one_hot [batch, K] target probabilities (one-hot labels); epsilon in [0, 1], the
  probability mass spread uniformly over the K classes (so the true class keeps
  1 - eps + eps / K). optax.smooth_labels, which this calls; torch's
  cross_entropy(label_smoothing=eps) is the same target.
  """
  check("smooth_labels", epsilon=(epsilon, PROBABILITY))
  return optax.smooth_labels(one_hot, jnp.asarray(epsilon, one_hot.dtype))


def mixup(x: jax.Array, targets: jax.Array, key: jax.Array, alpha):
  """Mixup (Zhang et al. 2018): each example is blended with another of the same batch,

    lam ~ Beta(alpha, alpha) (one draw per batch, as the paper's code), j = n - 1 - i,
    x_i <- lam x_i + (1 - lam) x_j,   q_i <- lam q_i + (1 - lam) q_j.

  The partner of example i is the batch read backwards (timm's Mixup pairs them the same
  way): a shuffled batch is a random sample, so that pairing is random, and it spares a
  permutation (a sort) per step. x [batch, ...] inputs (features or images), targets
  [batch, K] probabilities (one-hot or smoothed labels); alpha in [0, inf): small alpha draws
  lam near 0 or 1 (little mixing), alpha = 1 uniformly, large alpha near 1/2; alpha = 0 is
  lam = 1, no mixing (as the paper's code). Returns the mixed (x, targets).
  """
  check("mixup", alpha=(alpha, NONNEGATIVE))
  x, targets = jnp.asarray(x), jnp.asarray(targets)
  alpha = jnp.asarray(alpha, jnp.float32)
  positive = alpha > 0
  safe = jnp.where(positive, alpha, 1.0)
  lam = jnp.where(positive, jax.random.beta(key, safe, safe), 1.0)
  mix = lambda a: (lam * a + (1 - lam) * a[::-1]).astype(a.dtype)
  return mix(x), mix(targets)
