"""The regularizers as pure functions: dropout as flax.nnx.Dropout, label smoothing as optax and
torch, mixup's Beta draws, augmentation's geometry, early stopping's counters; every strength
traceable and 0 the identity."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx

from jaxopt_lab.train.augment import (
    augment, cutout, flip_horizontal, rotate, rotate_by, translate, translate_by)
from jaxopt_lab.train.dropout import dropout
from jaxopt_lab.train.early_stopping import (
    EarlyStopping, early_stopping_init, early_stopping_update)
from jaxopt_lab.train.losses import softmax_cross_entropy
from jaxopt_lab.train.soft_targets import mixup, smooth_labels

KEY = jax.random.key(0)
IMAGES = jax.random.uniform(jax.random.key(1), (16, 8, 8))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_is_flax_nnx_dropout_bit_for_bit(rate):
  x = jax.random.normal(KEY, (32, 64))
  theirs = nnx.Dropout(rate)(x, deterministic=False, rngs=jax.random.key(7))
  np.testing.assert_array_equal(dropout(x, jax.random.key(7), rate), theirs)


def test_dropout_rate_is_traceable_and_keeps_the_mean():
  x = jnp.ones((200, 500))
  rates = jnp.array([0.0, 0.2, 0.6])
  out = jax.jit(jax.vmap(dropout, in_axes=(None, None, 0)))(x, KEY, rates)
  np.testing.assert_array_equal(out[0], x)                                  # rate 0: x itself
  np.testing.assert_allclose(jnp.mean(out == 0, axis=(1, 2)), rates, atol=0.005)
  np.testing.assert_allclose(jnp.mean(out, axis=(1, 2)), 1.0, atol=0.01)   # E[output] = x


def test_label_smoothing_is_optax_and_torch():
  logits = jax.random.normal(KEY, (8, 10))
  labels = jnp.arange(8) % 10
  smoothed = smooth_labels(jax.nn.one_hot(labels, 10), 0.1)
  np.testing.assert_array_equal(smoothed, optax.smooth_labels(jax.nn.one_hot(labels, 10), 0.1))
  torch_loss = torch.nn.functional.cross_entropy(
      torch.tensor(np.asarray(logits)), torch.tensor(np.asarray(labels), dtype=torch.long),
      label_smoothing=0.1)
  np.testing.assert_allclose(softmax_cross_entropy(logits, smoothed), torch_loss.item(), rtol=1e-6)
  one_hot = smooth_labels(jax.nn.one_hot(labels, 10), 0.0)
  np.testing.assert_allclose(softmax_cross_entropy(logits, one_hot),
                             softmax_cross_entropy(logits, labels), rtol=1e-6)


def test_mixup_blends_pairs_with_beta_draws():
  x = np.asarray(jax.random.normal(KEY, (64, 5)))
  labels = np.arange(64) % 10
  targets = np.eye(10, dtype=np.float32)[labels]

  @jax.jit
  def draw(alpha):   # 2000 batches mixed with a traced alpha
    return jax.vmap(mixup, in_axes=(None, None, 0, None))(x, targets, keys, alpha)

  keys = jax.random.split(KEY, 2000)
  same_x, same_t = map(np.asarray, draw(0.0))
  assert (same_x == x).all() and (same_t == targets).all()      # alpha 0: no mixing at all
  mixed_x, mixed_t = map(np.asarray, draw(0.4))
  # the paper's rule written out, example i paired with example n - 1 - i, and lam read off
  # the targets: each example keeps lam of its own class (one lam for the batch)
  partner = np.arange(64)[::-1]
  own = mixed_t[0, np.arange(64), labels]
  lam = own[labels != labels[partner]]
  np.testing.assert_allclose(lam, lam[0], rtol=1e-6)
  np.testing.assert_allclose(mixed_x[0], lam[0] * x + (1 - lam[0]) * x[partner], rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(mixed_t[0], lam[0] * targets + (1 - lam[0]) * targets[partner],
                             rtol=1e-5, atol=1e-6)
  # lam ~ Beta(alpha, alpha): example 0 (class 0, paired with example 63 of class 3) shows it
  draws = mixed_t[:, 0, 0]
  assert abs(draws.mean() - 0.5) < 0.02
  np.testing.assert_allclose(draws.var(), 1 / (4 * (2 * 0.4 + 1)), rtol=0.1)


def test_translate_moves_whole_pixels_within_the_shift():
  image = jnp.zeros((200, 8, 8)).at[:, 3, 4].set(1.0)
  moved = jax.jit(translate)(image, KEY, 2)      # max_shift traced: the same program for 0
  np.testing.assert_array_equal(moved.sum(axis=(1, 2)), 1.0)   # moved, not blurred
  where = jnp.argmax(moved.reshape(200, 64), axis=1)
  assert set(np.asarray(where // 8 - 3).tolist()) == {-2, -1, 0, 1, 2}   # rows
  assert set(np.asarray(where % 8 - 4).tolist()) == {-2, -1, 0, 1, 2}    # columns
  np.testing.assert_array_equal(jax.jit(translate)(image, KEY, 0), image)
  shifted = jax.jit(translate_by)(IMAGES[:1], jnp.array([1.0]), jnp.array([-2.0]))
  np.testing.assert_array_equal(shifted[0, 1:, :6], IMAGES[0, :7, 2:])
  np.testing.assert_array_equal(shifted[0, 0], 0.0)             # filled from outside


def test_rotate_by_90_is_rot90_and_random_rotation_is_traceable():
  np.testing.assert_allclose(jax.jit(rotate_by)(IMAGES, jnp.full(16, 90.0)),
                             np.rot90(np.asarray(IMAGES), axes=(1, 2)), atol=1e-5)
  out = jax.jit(jax.vmap(rotate, in_axes=(None, None, 0)))(IMAGES, KEY, jnp.array([0.0, 20.0]))
  np.testing.assert_allclose(out[0], IMAGES, atol=1e-6)
  assert not np.allclose(out[1], IMAGES)


def test_cutout_zeroes_squares_of_the_given_size():
  ones = jnp.ones((500, 8, 8))
  sizes, counts = jnp.array([3, 0, 2, 2, 2]), jnp.array([1, 1, 0, 1, 3])   # both traced
  out = jax.jit(jax.vmap(cutout, in_axes=(None, None, 0, 0)))(ones, KEY, sizes, counts)
  holes = jnp.sum(out == 0, axis=(2, 3))                         # [case, image]
  assert int(holes[0].max()) == 9 and int(holes[0].min()) >= 4   # clipped at a corner: 2 x 2
  assert np.mean(holes[0] == 9) > 0.5                            # most squares are whole
  assert int(holes[1].max()) == 0 and int(holes[2].max()) == 0   # size 0 or count 0: none
  assert int(holes[3].max()) == 4 and holes[3].sum() < holes[4].sum() <= 3 * holes[3].sum()


def test_flip_mirrors_with_the_probability():
  flip = jax.jit(flip_horizontal)
  np.testing.assert_array_equal(flip(IMAGES, KEY, 1.0), IMAGES[:, :, ::-1])
  np.testing.assert_array_equal(flip(IMAGES, KEY, 0.0), IMAGES)
  many = jnp.tile(jnp.arange(8.0)[None, None], (4000, 1, 1))
  assert abs(float(jnp.mean(flip(many, KEY, 0.3)[:, 0, 0] == 7)) - 0.3) < 0.03


def test_augment_applies_only_what_is_given():
  np.testing.assert_array_equal(augment(IMAGES, KEY), IMAGES)
  out = jax.jit(lambda images, key: augment(images, key, flip=1.0))(IMAGES, KEY)
  np.testing.assert_array_equal(out, IMAGES[:, :, ::-1])


def test_early_stopping_keeps_the_best_and_stops_after_patience():
  stopping = EarlyStopping(patience=2)
  state, params = early_stopping_init(jnp.zeros(())), jnp.zeros(())
  trace = []
  for step, value in enumerate([3.0, 2.0, 2.5, 1.9, 2.2, np.nan, 1.0, 0.5], start=1):
    params = jnp.float32(step)     # "the parameters after `step`"
    state, params = early_stopping_update(state, value, params, step, stopping)
    trace.append((float(params), bool(state.stopped)))
  # best 1.9 at step 4; 2.2 and NaN do not improve; stops at step 6 and goes back to step 4
  assert int(state.best_step) == 4 and int(state.stopped_step) == 6
  assert trace[5] == (4.0, True) and float(state.best_value) == pytest.approx(1.9)
  assert int(state.best_step) == 4    # 1.0 and 0.5 after the stop are never seen
  never = EarlyStopping(jnp.inf)
  state = early_stopping_init(jnp.zeros(()))
  for step, value in enumerate([1.0, 2.0, 3.0, 4.0], start=1):
    state, _ = early_stopping_update(state, value, jnp.float32(step), step, never)
  assert not bool(state.stopped) and int(state.best_step) == 1
