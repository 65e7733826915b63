"""The digits runs the training-loop tests and the data-parallel script share: four runs of a
16-unit MLP with Adam and an L2 penalty, one per row of (learning rate, L2 strength, seed)."""
import functools

import jax
import jax.numpy as jnp

from jaxopt_lab.optim.aliases import adam
from jaxopt_lab.train import losses
from jaxopt_lab.train.data import digits
from jaxopt_lab.train.loop import train
from jaxopt_lab.train.models import MLP

TRACES = []


def make_digits_model(rngs):
  TRACES.append(1)
  return MLP(64, (16,), 10, "relu", rngs=rngs)


@functools.cache
def digits_set():
  return digits(seed=0)


# Four runs on digits in one vmapped program: (learning rate, L2 strength, seed) per row.
RATES, STRENGTHS, SEEDS = [1e-4, 1e-2, 1e-2, 3e-3], [0.0, 1e-3, 1e-3, 0.0], [0, 0, 1, 0]
OPTIONS = dict(steps=100, batch_size=64, eval_every=40)  # 17 batches an epoch, the 17th short


def run(rate, strength, key, mesh=None):
  return train(make_digits_model, adam(rate), digits_set(), key, mesh=mesh,
               penalty=lambda params: losses.l2(params, strength), **OPTIONS)


@functools.cache
def digits_runs():
  """The four runs together, and the number of times the model was traced."""
  digits_set()  # loaded outside the traces, so the cached arrays are concrete
  TRACES.clear()
  keys = jax.vmap(jax.random.key)(jnp.array(SEEDS))
  together = jax.jit(jax.vmap(run))(jnp.array(RATES), jnp.array(STRENGTHS), keys)
  return together, len(TRACES)


@functools.cache
def single_run(mesh=None):
  """Row 1 alone, in its own compiled program (with `mesh`: data-parallel over its devices)."""
  digits_set()
  return jax.jit(lambda key: run(RATES[1], STRENGTHS[1], key, mesh))(jax.random.key(SEEDS[1]))
