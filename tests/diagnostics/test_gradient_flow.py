"""Gradient-flow diagnostics against NumPy float64 references; vanishing with sigmoid,
exploding with a too-large init, dead ReLUs, clipping taming an exploding net; the study."""
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from jaxopt_lab import chain, cli, clip_by_global_norm, sgd
from jaxopt_lab.diagnostics import gradcheck, gradient_flow as flow
from jaxopt_lab.studies import run_study
from jaxopt_lab.train.data import digits

HE = np.sqrt(2.0)


@pytest.fixture(scope="module")
def data():
  dataset = digits(0)
  return dataset.x_train[:256], dataset.y_train[:256]


def numpy_jacobians(params, x, activation):
  """J_l = diag(act'(z_l)) W_l^T for each hidden layer and input, in float64 NumPy."""
  derivative = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)) * (1 - 1 / (1 + np.exp(-z))),
                "tanh": lambda z: 1 - np.tanh(z) ** 2,
                "relu": lambda z: (z > 0).astype(float)}[activation]
  act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
         "relu": lambda z: np.maximum(z, 0)}[activation]
  h, jacobians = np.asarray(x, np.float64), []
  for layer in params[:-1]:
    w, b = np.asarray(layer["w"], np.float64), np.asarray(layer["b"], np.float64)
    z = h @ w + b
    jacobians.append(derivative(z)[:, :, None] * w.T[None])
    h = act(z)
  return jacobians


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_jacobian_singular_values_match_numpy(activation, data, x64):
  gain = flow.STANDARD_GAIN[activation]
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64),
                        flow.init_mlp(jax.random.key(0), 4, 16, gain=gain))
  params[1]["b"] = params[1]["b"] + 0.3  # nonzero biases enter z_l
  x = jnp.asarray(data[0][:8], jnp.float64)
  jacobians = numpy_jacobians(params, x, activation)
  ours = flow.layer_jacobian_singular_values(params, x, activation)
  assert [s.shape for s in ours] == [(8, 16), (8, 16), (8, 16)]
  for got, jacobian in zip(ours, jacobians):
    np.testing.assert_allclose(got, np.linalg.svd(jacobian, compute_uv=False), atol=1e-12)
  products = flow.product_jacobian_singular_values(params, x, activation)
  expected = np.linalg.svd(jacobians[2] @ jacobians[1] @ jacobians[0], compute_uv=False)
  np.testing.assert_allclose(products[-1], expected, rtol=1e-10, atol=1e-14)
  np.testing.assert_allclose(products[0], ours[0], rtol=1e-12)
  if activation == "sigmoid":  # sigma(diag(s') W^T) <= max s' ||W||_2 <= ||W||_2 / 4
    for layer, sigma in zip(params, ours):
      assert sigma.max() <= np.linalg.norm(np.asarray(layer["w"]), 2) / 4
    assert np.all(np.diff(np.median(products[:, :, 0], axis=1)) < 0)  # the product shrinks


def test_init_scale_and_validation():
  params = flow.init_mlp(jax.random.key(0), 5, 128, gain=2.0)
  assert [p["w"].shape for p in params] == [(64, 128), (128, 128), (128, 128), (128, 128),
                                             (128, 10)]
  np.testing.assert_allclose(np.std(params[2]["w"]) * np.sqrt(128), 2.0, rtol=0.05)
  with pytest.raises(ValueError, match=r"init_mlp\(depth=1\): depth must be in \[2, inf\)"):
    flow.init_mlp(jax.random.key(0), 1)
  with pytest.raises(ValueError, match="gain must be in"):
    flow.init_mlp(jax.random.key(0), 3, gain=0.0)
  with pytest.raises(ValueError, match="activation must be one of"):
    flow.loss(params, jnp.zeros((2, 64)), jnp.zeros(2, jnp.int32), "gelu")


def test_the_mlp_gradient_passes_gradcheck(data):
  x, y = data[0][:32], data[1][:32]
  params = flow.init_mlp(jax.random.key(1), 3, 16, gain=1.0)
  assert gradcheck(lambda p: flow.loss(p, x, y, "tanh"), params, num_directions=2).ok


def test_sigmoid_vanishes_standard_inits_do_not_and_a_large_init_explodes(data):
  x, y = data
  depth = 12

  def norms(activation, gain):
    params = flow.init_mlp(jax.random.key(0), depth, 32, gain=gain)
    return np.asarray(flow.layer_gradient_norms(params, x, y, activation))

  sigmoid, tanh, relu, relu_large = (norms("sigmoid", 1.0), norms("tanh", 1.0),
                                     norms("relu", HE), norms("relu", 2 * HE))
  assert sigmoid.shape == (depth,)
  assert sigmoid[0] < 1e-5 * sigmoid[-1]  # shrinks layer by layer towards the input
  assert np.all(np.diff(np.log(sigmoid)) > 0)
  for kept in (tanh, relu):
    assert 0.1 < kept[0] / kept[-1] < 10
  assert relu_large[0] > 1e3 * relu[0]  # each layer scales by 2 (relu is homogeneous)


def test_dead_relu_fraction(data):
  x = data[0]
  params = flow.init_mlp(jax.random.key(0), 4, 32, gain=HE)
  params[1]["b"] = params[1]["b"].at[:8].set(-100.0)  # 8 of 32 units in layer 2 never fire
  dead = np.asarray(flow.dead_relu_fraction(params, x))
  _, preactivations = flow.forward(params, x, "relu")
  expected = [np.mean(np.all(np.asarray(z) <= 0, axis=0)) for z in preactivations]
  np.testing.assert_array_equal(dead, expected)
  assert dead[1] >= 0.25 and dead[0] < 0.1


def test_clipping_tames_an_exploding_net(data):
  x, y = data
  params = flow.init_mlp(jax.random.key(0), 10, 32, gain=1.5 * HE)
  plain = flow.train(params, x, y, "relu", sgd(0.1), 6)
  clipped = flow.train(params, x, y, "relu", chain(clip_by_global_norm(1.0), sgd(0.1)), 6)
  assert plain.gradient_norms.shape == (6, 10) and plain.losses.shape == (7,)
  assert plain.losses[0] == clipped.losses[0] > 10  # the too-large init starts badly
  assert plain.gradient_norms[0, 0] > 10  # and its gradient is large (He init: ~1)
  assert not np.isfinite(plain.losses[-1])  # plain SGD explodes to NaN within 6 steps
  assert np.all(np.isfinite(clipped.losses)) and clipped.losses[-1] < clipped.losses[0] / 3


def test_study_quick(tmp_path):
  assert cli.main(["gradient-flow", "--quick", "--out", str(tmp_path)]) == 0
  for name in ["gradient_flow.png", "gradient_norms.csv", "singular_values.csv", "training.csv",
               "dead_relus.csv", "clipping.csv"]:
    assert (tmp_path / name).stat().st_size > 500, name
  norms = pd.read_csv(tmp_path / "gradient_norms.csv")
  deepest = norms[norms.depth == norms.depth.max()].set_index(["config", "layer"]).gradient_norm
  assert deepest["sigmoid, Xavier", 1] < deepest["sigmoid, Xavier", norms.depth.max()] / 10
  clipping = pd.read_csv(tmp_path / "clipping.csv")
  clipped = clipping[clipping.optimizer.str.startswith("clip")].loss
  assert np.isfinite(clipped).all() and clipped.iloc[-1] < clipped.iloc[0]
  assert not np.isfinite(clipping[clipping.optimizer == "SGD"].loss.iloc[-1])


def test_study_rejects_a_bad_depth(tmp_path, capsys):
  assert cli.main(["gradient-flow", "--max-depth", "1", "--out", str(tmp_path)]) == 2
  assert "--max-depth must be an integer in [2, 40], got 1" in capsys.readouterr().err
