"""The lectures' bad baselines: optimization by guessing, with no gradient.

  best = random_search(loss, like=params, key=key, trials=1000, scale=1e-3)
  best.params, best.best_so_far[-1]   # the lowest loss of 1000 random parameter vectors

- `random_search`: draw parameters at random, keep the best (strategy #1 of the lectures).
- `random_local_search`: from a start, try a random step; keep it only if the loss drops
  (strategy #2). Gradient descent (strategy #3, `jaxopt_lab.train.loop`) follows the slope instead.
Both are pure functions of the key, built on lax.map / lax.scan, so they jit and vmap.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxopt_lab._validation import POSITIVE, Interval, check, check_int

__all__ = ["random_search", "random_local_search", "SearchResult"]

COUNT = Interval(1, float("inf"))


def _check_key(call: str, key) -> None:
  """A PRNG key: jax.random.key(...) or a legacy jax.random.PRNGKey(...) (uint32, shape (2,))."""
  dtype = getattr(key, "dtype", None)
  typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
  legacy = dtype == jnp.uint32 and jnp.shape(key) == (2,)
  if not (typed and jnp.ndim(key) == 0 or legacy):
    raise ValueError(f"{call}(key={key!r:.40}): key must be one PRNG key, jax.random.key(seed), "
                     f"got {key!r:.40}")


class SearchResult(NamedTuple):
  params: object            # the best parameters found (the pytree structure of the input)
  losses: jax.Array         # [trials]: the loss of each trial's candidate
  best_so_far: jax.Array    # [trials]: min of the losses up to each trial (and of the start)


def random_search(loss: Callable, like, key: jax.Array, trials: int, scale: float = 1e-3,
                  batch_size: int = 256) -> SearchResult:
  """Best of `trials` guesses: W_k ~ N(0, scale^2 I) with the shapes of `like`, k = 1..trials;
  returns argmin_k loss(W_k). Candidates are evaluated `batch_size` at a time (lax.map) and
  regenerated from their key, so memory does not grow with `trials`."""
  _check_key("random_search", key)
  check_int("random_search", trials=(trials, COUNT), batch_size=(batch_size, COUNT))
  check("random_search", scale=(scale, POSITIVE))
  flat, unravel = ravel_pytree(like)
  keys = jax.random.split(key, trials)

  def guess(key):
    return unravel(scale * jax.random.normal(key, flat.shape, flat.dtype))

  losses = jax.lax.map(lambda key: loss(guess(key)), keys, batch_size=batch_size)
  return SearchResult(guess(keys[jnp.argmin(losses)]), losses, jax.lax.cummin(losses))


def random_local_search(loss: Callable, start, key: jax.Array, trials: int,
                        step_size: float = 1e-3) -> SearchResult:
  """W_try = W + step_size N(0, I); W <- W_try if loss(W_try) < loss(W), for `trials` tries."""
  _check_key("random_local_search", key)
  check_int("random_local_search", trials=(trials, COUNT))
  check("random_local_search", step_size=(step_size, POSITIVE))
  flat, unravel = ravel_pytree(start)
  flat_loss = lambda w: loss(unravel(w))

  def attempt(carry, key):
    w, best = carry
    candidate = w + step_size * jax.random.normal(key, w.shape, w.dtype)
    value = flat_loss(candidate)
    better = value < best
    return (jnp.where(better, candidate, w), jnp.minimum(value, best)), value

  (w, _), losses = jax.lax.scan(attempt, (flat, flat_loss(flat)),
                                jax.random.split(key, trials))
  return SearchResult(unravel(w), losses, jnp.minimum(jax.lax.cummin(losses), flat_loss(flat)))
