"""Datasets and minibatches: split sizes, stratification, standardisation from the training set
only, and the lectures' per-epoch shuffling (deterministic, every example once per epoch)."""
import functools

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

from jaxopt_lab.train.data import (
    batches_per_epoch, blobs, digits, epoch_order, minibatch, spirals, split, take_batch)


@functools.cache
def digits_set():
  return digits(seed=0)


def test_digits_split_sizes_and_types():
  data = digits_set()
  assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (1077, 360, 360)
  assert data.x_train.shape == (1077, 64) and data.num_features == 64 and data.num_classes == 10
  assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32


def test_digits_splits_are_stratified_and_disjoint():
  data = digits_set()
  overall = np.bincount(load_digits().target, minlength=10) / 1797
  for labels in (data.y_train, data.y_val, data.y_test):
    counts = np.bincount(np.asarray(labels), minlength=10)
    assert np.abs(counts - overall * len(labels)).max() <= 1.0
  rows = [tuple(np.asarray(x).round(4)) for x in (data.x_train, data.x_val, data.x_test)]
  images = {split: {tuple(r) for r in x} for split, x in zip("tvs", rows)}
  assert not (images["t"] & images["s"]) and not (images["v"] & images["s"])


def test_standardised_with_the_training_statistics_only():
  data = digits_set()
  train = np.asarray(data.x_train, np.float64)
  varying = train.std(0) > 0
  np.testing.assert_allclose(train.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(train.std(0)[varying], 1, rtol=1e-4)
  assert not train[:, ~varying].any()  # constant pixels stay centred at 0
  # a feature equal to the row number: one affine map, fitted on train, sends every split back
  # onto the integers 0..n-1; statistics taken per split would break the common lattice
  n = 200
  x = np.stack([np.arange(n), 3.0 * np.arange(n) + 7], 1)
  toy = split("toy", x, np.arange(n) % 4, seed=0)
  for feature in range(2):
    parts = [np.asarray(p, np.float64)[:, feature] for p in (toy.x_train, toy.x_val, toy.x_test)]
    assert abs(parts[0].mean()) < 1e-5 and abs(parts[0].std() - 1) < 1e-5
    assert abs(parts[1].mean()) > 1e-3 or abs(parts[1].std() - 1) > 1e-3
    values = np.sort(np.concatenate(parts))
    rows = (values - values[0]) / np.diff(values).mean()
    np.testing.assert_allclose(rows, np.arange(n), atol=1e-3)


def test_same_seed_same_split_other_seed_other_split():
  a, b, c = digits_set(), digits(seed=0), digits(seed=1)
  np.testing.assert_array_equal(a.x_train, b.x_train)
  assert not np.array_equal(np.asarray(a.y_train), np.asarray(c.y_train))


@pytest.mark.parametrize("make", [blobs, spirals])
def test_two_dimensional_sets(make):
  data = make(n=300, num_classes=3, seed=0)
  assert data.x_train.shape == (180, 2) and data.num_classes == 3
  assert set(np.unique(np.asarray(data.y_test))) == {0, 1, 2}


def epoch(key, size, batch_size, drop_last=False, first_step=0):
  """Indices and weights [batches, batch_size] of the epoch starting at `first_step`."""
  count = batches_per_epoch(size, batch_size, drop_last)
  batches = [minibatch(key, first_step + b, size, batch_size, drop_last) for b in range(count)]
  return (np.stack([np.asarray(i) for i, _ in batches]),
          np.stack([np.asarray(w) for _, w in batches]))


def test_every_example_once_per_epoch_and_a_new_order_each_epoch():
  key = jax.random.key(3)
  index, weight = epoch(key, size=50, batch_size=8)
  assert index.shape == (7, 8)
  np.testing.assert_array_equal(np.sort(index[weight > 0]), np.arange(50))
  second, _ = epoch(key, size=50, batch_size=8, first_step=7)
  assert not np.array_equal(index, second)
  np.testing.assert_array_equal(np.sort(second[weight > 0]), np.arange(50))


def test_short_last_batch_has_zero_weights_on_its_padding():
  index, weight = epoch(jax.random.key(0), size=50, batch_size=8)
  assert weight[:-1].all()
  np.testing.assert_array_equal(weight[-1], [1, 1, 0, 0, 0, 0, 0, 0])  # 50 = 6 * 8 + 2
  assert ((index >= 0) & (index < 50)).all()


def test_drop_last_skips_the_leftover_examples():
  index, weight = epoch(jax.random.key(0), size=50, batch_size=8, drop_last=True)
  assert index.shape == (6, 8) and weight.all()
  assert np.unique(index).size == 48


def test_deterministic_for_a_key_and_different_for_another():
  a = minibatch(jax.random.key(5), 11, 100, 16)
  b = minibatch(jax.random.key(5), 11, 100, 16)
  c = minibatch(jax.random.key(6), 11, 100, 16)
  np.testing.assert_array_equal(a[0], b[0])
  assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))


def test_epoch_order_and_take_batch_give_minibatch():
  key, size, batch_size = jax.random.key(1), 50, 8
  for step in [0, 6, 7, 20]:
    epoch_index, batch = divmod(step, batches_per_epoch(size, batch_size))
    expected = minibatch(key, step, size, batch_size)
    got = take_batch(epoch_order(key, epoch_index, size), batch, batch_size)
    for e, g in zip(expected, got):
      np.testing.assert_array_equal(e, g)


def test_bad_batch_size_is_refused():
  with pytest.raises(ValueError, match=r"minibatch\(batch_size=0\)"):
    minibatch(jax.random.key(0), 0, 10, 0)
  with pytest.raises(ValueError, match=r"minibatch\(batch_size=11\)"):
    minibatch(jax.random.key(0), 0, 10, 11)
