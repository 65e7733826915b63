"""Dropout (Srivastava et al. 2014) as a pure function of (activations, key, rate).

  h = dropout(h, key, rate=0.5)      # training: each unit zeroed with probability 0.5
  h = h                              # evaluation: nothing to do (inverted dropout)

The rate may be a Python number, an array or a tracer, so one compiled sweep covers many
rates. flax.nnx.Dropout draws the same mask from the same key (its `rate` is a Python number
it branches on, so it cannot be swept under vmap); `tests/train/test_regularizers.py`
checks that the two agree bit for bit.
"""
import jax
import jax.numpy as jnp

from jaxopt_lab._validation import UNIT, check


def dropout(x: jax.Array, key: jax.Array, rate) -> jax.Array:
  """Inverted dropout: x * m / (1 - p) with m_i ~ Bernoulli(1 - p) independently per entry.

  x: activations of any shape (e.g. [batch, width]); key: a PRNG key, drawn fresh for every
  step; rate p in [0, 1): the probability that a unit is zeroed. Dividing the kept units by
  1 - p keeps E[output] = x, so at evaluation the network is used as it is, with no
  dropout and no rescaling (the "inverted" form of Srivastava et al. 2014, Sec. 10, used by
  torch.nn.Dropout and flax.nnx.Dropout). p = 0 returns x exactly.

  Raises ValueError for a concrete rate outside [0, 1).
  """
  check("dropout", rate=(rate, UNIT))
  keep = 1.0 - rate   # in Python for a Python rate, as flax does (1 - 0.9 is not float32's)
  mask = jax.random.bernoulli(key, p=keep, shape=x.shape)
  return jax.lax.select(mask, x / jnp.asarray(keep, x.dtype), jnp.zeros_like(x))
