"""Random search and random local search: the best of the guesses, regenerated from their keys;
local search keeps only improving steps."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lab.optim.random_search import random_local_search, random_search

TARGET = {"w": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.3, -0.7])}


def loss(params):
  return sum(jnp.sum((params[k] - TARGET[k]) ** 2) for k in TARGET)


def test_random_search_returns_the_best_guess():
  like = jax.tree.map(jnp.zeros_like, TARGET)
  result = jax.jit(lambda key: random_search(loss, like, key, trials=50, scale=2.0,
                                             batch_size=16))(jax.random.key(0))
  assert result.losses.shape == (50,)
  np.testing.assert_allclose(result.best_so_far, np.minimum.accumulate(result.losses), rtol=1e-6)
  np.testing.assert_allclose(loss(result.params), result.losses.min(), rtol=1e-5)
  assert np.unique(np.asarray(result.losses)).size == 50  # fifty different guesses
  again = random_search(loss, like, jax.random.key(0), trials=50, scale=2.0, batch_size=50)
  np.testing.assert_allclose(again.losses, result.losses, rtol=1e-6)  # batching changes nothing
  # guesses are N(0, scale^2) in each of the 6 coordinates: E |W|^2 = 6 scale^2 = 24
  norms = random_search(lambda p: sum(jnp.sum(x ** 2) for x in jax.tree.leaves(p)), like,
                        jax.random.key(1), trials=400, scale=2.0).losses
  assert 22 < float(norms.mean()) < 26


def test_random_local_search_only_accepts_improvements():
  start = jax.tree.map(jnp.zeros_like, TARGET)
  result = jax.jit(lambda key: random_local_search(loss, start, key, trials=400, step_size=0.1))(
      jax.random.key(1))
  best = np.asarray(result.best_so_far)
  assert (np.diff(best) <= 0).all() and best[0] <= float(loss(start))
  np.testing.assert_allclose(loss(result.params), best[-1], rtol=1e-5)
  assert best[-1] < 0.1 * float(loss(start))  # descends on a convex bowl
  accepted = np.asarray(result.losses) <= best
  assert 0 < accepted.sum() < 400


@pytest.mark.parametrize("call, message", [
    (lambda: random_search(loss, TARGET, jax.random.key(0), trials=0), r"trials=0"),
    (lambda: random_search(loss, TARGET, jax.random.key(0), trials=5, scale=0.0), r"scale=0.0"),
    (lambda: random_local_search(loss, TARGET, jax.random.key(0), 5, step_size=-1.0),
     r"step_size=-1.0"),
])
def test_bad_arguments(call, message):
  with pytest.raises(ValueError, match=message):
    call()
