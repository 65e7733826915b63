"""The MLP and linear classifier: the forward formula in NumPy, initialisation scales, depth
from widths, construction from a traced key, and clear errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxopt_lab.train.models import ACTIVATIONS, MLP, LinearClassifier

NUMPY_ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
}


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_is_the_layer_formula(activation):
  model = MLP(6, (5, 4), 3, activation, rngs=nnx.Rngs(1))
  x = np.random.default_rng(0).normal(size=(7, 6))
  h = x
  layers = [*model.hidden, model.output]
  for i, layer in enumerate(layers):
    h = h @ np.asarray(layer.kernel[...], np.float64) + np.asarray(layer.bias[...], np.float64)
    if i < len(layers) - 1:
      h = NUMPY_ACTIVATIONS[activation](h)
  np.testing.assert_allclose(model(jnp.asarray(x, jnp.float32)), h, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("widths", [(), (8,), (8, 8, 8)])
def test_depth_and_shapes_follow_widths(widths):
  model = MLP(64, widths, 10, rngs=nnx.Rngs(0))
  kernels = [layer.kernel[...].shape for layer in [*model.hidden, model.output]]
  sizes = (64, *widths, 10)
  assert kernels == list(zip(sizes[:-1], sizes[1:]))
  assert model(jnp.zeros((3, 64))).shape == (3, 10)


@pytest.mark.parametrize("activation, variance", [("relu", 2.0), ("tanh", 1.0)])
def test_initial_kernel_scale_is_he_or_lecun(activation, variance):
  model = MLP(200, (200,), 10, activation, rngs=nnx.Rngs(0))
  kernel = np.asarray(model.hidden[0].kernel[...])
  np.testing.assert_allclose(kernel.var(), variance / 200, rtol=0.05)
  assert not np.asarray(model.hidden[0].bias[...]).any()


def test_linear_classifier_is_x_kernel_plus_bias():
  model = LinearClassifier(4, 3, scale=0.5, rngs=nnx.Rngs(2))
  x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
  kernel, bias = np.asarray(model.linear.kernel[...]), np.asarray(model.linear.bias[...])
  assert kernel.shape == (4, 3) and 0.2 < kernel.std() < 1.0
  np.testing.assert_allclose(model(jnp.asarray(x)), x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_built_from_a_traced_key_under_vmap():
  def kernels(key):
    return nnx.state(MLP(3, (4,), 2, rngs=nnx.Rngs(key)), nnx.Param)["output"]["kernel"][...]

  stacked = jax.jit(jax.vmap(kernels))(jax.random.split(jax.random.key(0), 3))
  assert stacked.shape == (3, 4, 2)
  assert np.unique(np.asarray(stacked)[:, 0, 0]).size == 3  # each key its own initialisation


@pytest.mark.parametrize("arguments, message", [
    (dict(activation="gelu"), "MLP\\(activation='gelu'\\): activation must be one of sigmoid"),
    (dict(widths=(8, 0)), r"MLP\(widths\[1\]=0\): widths\[1\] must be in \[1, inf\)"),
    (dict(num_classes=2.5), r"MLP\(num_classes=2.5\)"),
])
def test_bad_arguments(arguments, message):
  options = dict(in_features=4, widths=(8,), num_classes=3, activation="relu") | arguments
  with pytest.raises(ValueError, match=message):
    MLP(**options, rngs=nnx.Rngs(0))
