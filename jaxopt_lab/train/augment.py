"""Data augmentation for images, as pure functions of (images, key, strength).

  images = translate(images, key, max_shift=1)        # images [batch, height, width]
  images = rotate(images, key, max_degrees=15)        # (translate_by, rotate_by: given amounts)
  images = cutout(images, key, size=3, count=1)
  images = flip_horizontal(images, key, probability=0.5)   # the lectures' counter-example

Each image of the batch gets its own random transformation, drawn from `key`: a training
loop draws a fresh key every step, so every epoch sees new variants of its examples. Pixels
that come from outside the image, and the pixels cutout removes, are set to `fill` (0 by
default: the blank background of pixel-valued images; for standardised data, augment the
pixels, as `jaxopt_lab.train.regularizers` does). Every strength may be a Python number, an
array or a tracer (one compiled sweep covers many strengths), and 0 returns the images
unchanged. Height and width are static (from the shape); a concrete strength is checked
against them.
"""
import math

import jax
import jax.numpy as jnp
from jax.scipy.ndimage import map_coordinates

from jaxopt_lab._validation import PROBABILITY, Interval, check, check_int


def _check_images(call: str, images) -> tuple:
  """(height, width) of images [batch, height, width]; anything else is one ValueError."""
  shape = jnp.shape(images)
  if len(shape) != 3:
    raise ValueError(f"{call}(images=...): images must be a batch of images of shape (batch, "
                     f"height, width), got shape {tuple(shape)}")
  return shape[1], shape[2]


def _warp(images: jax.Array, rows: jax.Array, cols: jax.Array, fill) -> jax.Array:
  """out[b, i, j] = images[b] sampled at (rows[b, i, j], cols[b, i, j]): bilinear between
  pixels, exact at integer coordinates, `fill` outside the image."""
  sample = lambda image, r, c: map_coordinates(image, [r, c], order=1, mode="constant",
                                               cval=fill)
  return jax.vmap(sample)(images, rows.astype(images.dtype), cols.astype(images.dtype))


def _grid(height: int, width: int):
  rows, cols = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")
  return rows.astype(jnp.float32), cols.astype(jnp.float32)


def translate_by(images: jax.Array, rows, cols, fill=0.0) -> jax.Array:
  """Image b moved down by rows[b] and right by cols[b] pixels (whole numbers or not):
  out[b, i, j] = images[b, i - rows[b], j - cols[b]], bilinear, `fill` outside.
  images [batch, height, width]; rows, cols [batch]."""
  height, width = _check_images("translate_by", images)
  grid_rows, grid_cols = _grid(height, width)
  return _warp(images, grid_rows - jnp.reshape(rows, (-1, 1, 1)),
               grid_cols - jnp.reshape(cols, (-1, 1, 1)), fill)


def translate(images: jax.Array, key: jax.Array, max_shift, fill=0.0) -> jax.Array:
  """Random translation ("random crop" of a padded image): image b moves down by dy_b and
  right by dx_b whole pixels, dy_b and dx_b uniform integers in [-s, s], s = floor(max_shift):

    out[b, i, j] = images[b, i - dy_b, j - dx_b],   `fill` where that falls outside.

  images [batch, height, width]; max_shift in pixels, in [0, min(height, width) - 1].
  The pad-and-crop augmentation of the lectures (pad by s, crop back at a random offset).
  """
  height, width = _check_images("translate", images)
  check("translate", max_shift=(max_shift, Interval(0, min(height, width) - 1, True, True)))
  s = jnp.floor(jnp.asarray(max_shift, jnp.float32))
  draws = jax.random.uniform(key, (images.shape[0], 2))
  dy, dx = (jnp.floor(draws[:, k] * (2 * s + 1)) - s for k in (0, 1))   # uniform on -s..s
  return translate_by(images, dy, dx, fill)


def rotate_by(images: jax.Array, degrees, fill=0.0) -> jax.Array:
  """Image b rotated counter-clockwise by degrees[b] about its centre, bilinear, `fill`
  outside; at 90 degrees, numpy.rot90: out[i, j] = image[j, width - 1 - i].
  images [batch, height, width]; degrees [batch]."""
  height, width = _check_images("rotate_by", images)
  angle = jnp.reshape(jnp.asarray(degrees, jnp.float32), (-1, 1, 1)) * (math.pi / 180)
  rows, cols = _grid(height, width)
  y, x = rows - (height - 1) / 2, cols - (width - 1) / 2   # output pixel about the centre
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  # the output pixel (y, x) shows the input at the inverse rotation of (y, x); rows point down
  source_y = cos * y + sin * x
  source_x = cos * x - sin * y
  return _warp(images, source_y + (height - 1) / 2, source_x + (width - 1) / 2, fill)


def rotate(images: jax.Array, key: jax.Array, max_degrees, fill=0.0) -> jax.Array:
  """Random rotation about the image centre by an angle uniform in [-max_degrees, max_degrees]
  (counter-clockwise positive), bilinear interpolation, `fill` outside (`rotate_by`).

  images [batch, height, width]; max_degrees in degrees, in [0, 180].
  """
  _check_images("rotate", images)
  check("rotate", max_degrees=(max_degrees, Interval(0, 180, True, True)))
  angle = jax.random.uniform(key, (images.shape[0],), minval=-1.0, maxval=1.0)
  return rotate_by(images, angle * jnp.asarray(max_degrees, jnp.float32), fill)


def cutout(images: jax.Array, key: jax.Array, size, count=1, fill=0.0) -> jax.Array:
  """Cutout (DeVries & Taylor 2017): `count` squares of side `size` pixels per image set to
  `fill`, each centred on a uniformly drawn pixel and clipped at the border (so a square
  may be partly outside the image, as in the paper). The square centred on (cy, cx) covers
  rows cy - floor(size / 2) <= i < cy - floor(size / 2) + size, and the same for columns.

  images [batch, height, width]; size in pixels, in [0, min(height, width)] (0: no cutout);
  count an integer >= 0, which may be traced too (the squares are drawn in a loop).
  """
  height, width = _check_images("cutout", images)
  check("cutout", size=(size, Interval(0, min(height, width), True, True)))
  check_int("cutout", count=(count, Interval(0, math.inf)))
  side = jnp.floor(jnp.asarray(size, jnp.float32))
  rows, cols = _grid(height, width)

  def one_square(k, images):
    centres = jax.random.randint(jax.random.fold_in(key, k), (images.shape[0], 2, 1, 1), 0,
                                 jnp.array([height, width])[:, None, None])
    top, left = (centres[:, d] - jnp.floor(side / 2) for d in (0, 1))
    inside = ((rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side))
    return jnp.where(inside, jnp.asarray(fill, images.dtype), images)

  return jax.lax.fori_loop(0, jnp.asarray(count, jnp.int32), one_square, images)


def flip_horizontal(images: jax.Array, key: jax.Array, probability) -> jax.Array:
  """Mirror each image left-right with `probability` (out[b, i, j] = images[b, i, W - 1 - j]).

  The lectures' augmentation for natural images, and their counter-example for digits: a
  mirrored 2, 3, 4, 5, 7 or 9 is another shape, which the network must then also call a 2.
  images [batch, height, width]; probability in [0, 1].
  """
  _check_images("flip_horizontal", images)
  check("flip_horizontal", probability=(probability, PROBABILITY))
  flip = jax.random.bernoulli(key, jnp.asarray(probability, jnp.float32), (images.shape[0],))
  return jnp.where(flip[:, None, None], images[:, :, ::-1], images)


def augment(images: jax.Array, key: jax.Array, *, max_shift=None, max_degrees=None,
            cutout_size=None, cutout_count=1, flip=None, fill=0.0) -> jax.Array:
  """The augmentations whose strength is given (None: not applied, not in the program), in
  the order flip, rotation, translation, cutout, each with its own key from `key`.
  Strengths as in `flip_horizontal`, `rotate`, `translate` and `cutout`."""
  _check_images("augment", images)
  keys = jax.random.split(key, 4)
  if flip is not None:
    images = flip_horizontal(images, keys[0], flip)
  if max_degrees is not None:
    images = rotate(images, keys[1], max_degrees, fill)
  if max_shift is not None:
    images = translate(images, keys[2], max_shift, fill)
  if cutout_size is not None:
    images = cutout(images, keys[3], cutout_size, cutout_count, fill)
  return images
