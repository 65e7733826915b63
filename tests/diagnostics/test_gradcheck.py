"""gradcheck against the lectures' hand-written backprop, deliberate bugs, float32 models,
pytrees, flax.nnx models, custom_vjp/custom_jvp rules and second derivatives."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxopt_lab.diagnostics import GradcheckError, GradcheckReport, gradcheck
from jaxopt_lab.train.data import digits


def two_layer_problem(dtype=jnp.float32, seed=0):
  """The lectures' two-layer sigmoid network: data, weights and the squared-error loss."""
  rng = np.random.default_rng(seed)
  n, d_in, hidden, d_out = 16, 10, 8, 3
  x = jnp.asarray(rng.normal(size=(n, d_in)), dtype)
  y = jnp.asarray(rng.normal(size=(n, d_out)), dtype)
  params = {"w1": jnp.asarray(rng.normal(size=(d_in, hidden)) / 3, dtype),
            "w2": jnp.asarray(rng.normal(size=(hidden, d_out)) / 3, dtype)}

  def loss(p):
    h = 1 / (1 + jnp.exp(-x @ p["w1"]))
    y_pred = h @ p["w2"]
    return jnp.sum((y_pred - y) ** 2)

  def backprop(p, sigmoid_derivative=True):
    h = 1 / (1 + jnp.exp(-x @ p["w1"]))
    y_pred = h @ p["w2"]
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h.T @ grad_y_pred
    grad_h = grad_y_pred @ p["w2"].T
    grad_w1 = x.T @ (grad_h * h * (1 - h) if sigmoid_derivative else grad_h)
    return {"w1": grad_w1, "w2": grad_w2}

  return loss, backprop, params


def test_hand_written_backprop_passes_in_float64_in_one_traced_program(x64):
  loss, backprop, params = two_layer_problem(jnp.float64)
  calls = []

  def counted(p):
    calls.append(1)
    return loss(p)

  report = gradcheck(counted, params, backprop)
  assert report.ok and report.dtype == "float64" and report.rtol == 1e-6
  assert report.max_rel_error < 1e-7
  assert [leaf.path for leaf in report.leaves] == ["['w1']", "['w2']"]
  assert sum(leaf.num_checked for leaf in report.leaves) == 10 * 8 + 8 * 3
  assert len(calls) <= 4  # shape probes and one trace, not 2 x 104 Python calls


def test_hand_written_backprop_passes_in_float32_and_missing_sigmoid_derivative_fails():
  loss, backprop, params = two_layer_problem(jnp.float32)
  good = gradcheck(loss, params, backprop)
  assert good.ok and good.dtype == "float32", good
  assert good.max_rel_error < good.rtol / 10  # no near miss from float32 rounding
  assert good.raise_if_failed() is good
  bad = gradcheck(loss, params, lambda p: backprop(p, sigmoid_derivative=False))
  assert not bad.ok
  w1, w2 = bad.leaves
  assert not w1.ok and w1.rel_error > 0.1 and w2.ok  # the report points at the broken leaf
  assert "FAIL" in str(bad) and "['w1']" in str(bad)


def test_gradient_off_by_one_percent_fails():
  loss, backprop, params = two_layer_problem(jnp.float32)
  scaled = lambda p: {**backprop(p), "w2": 1.01 * backprop(p)["w2"]}
  report = gradcheck(loss, params, scaled)
  assert not report.ok
  assert 0.005 < report.max_rel_error < 0.011  # 0.01 / 1.01 at the entries that are not ~0
  assert report.worst.path == "['w2']"


def test_wrong_entry_is_located_with_its_values(x64):
  params = {"a": {"b": [jnp.ones(2), jnp.arange(12.0).reshape(3, 4) / 10]}, "c": jnp.array(0.5)}
  loss = lambda p: jnp.sum(jnp.sin(p["a"]["b"][1]) * p["c"]) + jnp.sum(p["a"]["b"][0] ** 3)

  def grad_with_bug(p):
    g = jax.grad(loss)(p)
    g["a"]["b"][1] = g["a"]["b"][1].at[2, 1].add(1e-3)
    return g

  report = gradcheck(loss, params, grad_with_bug)
  rows = {leaf.path: leaf for leaf in report.leaves}
  assert set(rows) == {"['a']['b'][0]", "['a']['b'][1]", "['c']"}
  bad = rows["['a']['b'][1]"]
  assert not report.ok and not bad.ok and rows["['c']"].ok and rows["['a']['b'][0]"].ok
  assert bad.index == (2, 1) and bad.where == "[2, 1]"
  expected = 0.5 * np.cos(0.9)
  np.testing.assert_allclose([bad.numeric, bad.analytic], [expected, expected + 1e-3], rtol=1e-9)
  assert rows["['c']"].index == () and rows["['c']"].shape == ()


def tanh_mlp_loss(n=100):
  """A float32 one-hidden-layer tanh MLP on digits: 64 -> 16 -> 10, 1,210 parameters."""
  data = digits(0)
  x, y = data.x_train[:n], data.y_train[:n]

  def loss(p):
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    logits = h @ p["w2"] + p["b2"]
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(n), y])

  keys = jax.random.split(jax.random.key(0), 2)
  params = {"w1": jax.random.normal(keys[0], (64, 16)) / 8, "b1": jnp.full(16, 0.1),
            "w2": jax.random.normal(keys[1], (16, 10)) / 4, "b2": jnp.zeros(10)}
  return loss, params


def test_correct_float32_model_passes_on_every_coordinate():
  loss, params = tanh_mlp_loss()
  report = gradcheck(loss, params)
  assert report.checked == "all 1,210 coordinates"
  assert report.ok and report.dtype == "float32", report
  assert report.max_rel_error < report.rtol / 10  # a margin, not a near miss


def test_sampled_and_directional_checks_find_a_wrong_leaf():
  loss, params = tanh_mlp_loss(n=32)
  bug = lambda p: {**jax.grad(loss)(p), "b1": 0.97 * jax.grad(loss)(p)["b1"]}
  sampled = gradcheck(loss, params, bug, num_checks=12, seed=1)
  assert gradcheck(loss, params, bug, num_checks=12, seed=1) == sampled  # seeded
  assert [leaf.num_checked for leaf in sampled.leaves] == [12, 10, 12, 12]  # b1 b2 w1 w2
  assert sampled.checked == "46 random coordinates of 1,210 (at most 12 per leaf)"
  directional = gradcheck(loss, params, bug, num_directions=2)
  assert all(leaf.num_checked == 2 for leaf in directional.leaves)
  for report in (sampled, directional):
    rows = {leaf.path: leaf.ok for leaf in report.leaves}
    assert rows.pop("['b1']") is False and all(rows.values()), report
  assert directional.worst.where.startswith("random direction")


class TwoLayer(nnx.Module):
  def __init__(self, rngs: nnx.Rngs):
    self.layers = nnx.List([nnx.Linear(4, 8, rngs=rngs), nnx.Linear(8, 2, rngs=rngs)])

  def __call__(self, x):
    return self.layers[1](jax.nn.gelu(self.layers[0](x)))


def test_flax_nnx_model_parameters():
  x = jax.random.normal(jax.random.key(1), (16, 4))
  y = jax.random.normal(jax.random.key(2), (16, 2))
  graphdef, params = nnx.split(TwoLayer(nnx.Rngs(0)), nnx.Param)
  loss = lambda p: jnp.mean((nnx.merge(graphdef, p)(x) - y) ** 2)
  report = gradcheck(loss, params)
  assert report.ok and report.dtype == "float32", report
  assert {leaf.path.split("]")[0] for leaf in report.leaves} == {"['layers'"}
  assert len(report.leaves) == 4


def sine_with_rule(backward):
  """sin with a custom_vjp whose backward rule is `backward(x, cotangent)`."""
  @jax.custom_vjp
  def sine(x):
    return jnp.sin(x)

  sine.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (backward(x, g),))
  return lambda w: jnp.sum(sine(w["w"]) ** 2)


def test_custom_vjp_with_a_wrong_backward_rule_fails():
  w = {"w": jnp.linspace(-1.0, 1.0, 7)}
  assert gradcheck(sine_with_rule(lambda x, g: jnp.cos(x) * g), w).ok
  report = gradcheck(sine_with_rule(lambda x, g: -jnp.cos(x) * g), w)
  assert not report.ok and report.max_rel_error > 1


def test_order_two_catches_a_wrong_second_derivative(x64):
  w = {"w": jnp.linspace(-1.0, 1.0, 5)}
  right = sine_with_rule(lambda x, g: jnp.cos(x) * g)
  frozen = sine_with_rule(lambda x, g: jax.lax.stop_gradient(jnp.cos(x)) * g)
  assert gradcheck(frozen, w).ok  # the first derivative is right
  assert gradcheck(right, w, order=2).ok
  report = gradcheck(frozen, w, order=2)
  assert not report.ok and "Hessian-vector" in str(report)
  worst = report.worst
  assert "along ['w']" in worst.where  # the entry of H e_i that is wrong, and which e_i


def test_order_two_checks_custom_jvp_and_a_hand_written_gradient():
  @jax.custom_jvp
  def cube(x):
    return x ** 3

  cube.defjvp(lambda primals, tangents: (cube(primals[0]),
                                         3 * jax.lax.stop_gradient(primals[0]) ** 2
                                         * tangents[0]))
  w = jnp.array([0.3, -0.7, 1.1])
  loss = lambda w: jnp.sum(cube(w))
  assert gradcheck(loss, w).ok
  assert not gradcheck(loss, w, order=2, num_directions=2).ok
  wrong_own_derivative = lambda w: 3 * jax.lax.stop_gradient(w) ** 2  # a hand-written grad_fn
  assert not gradcheck(loss, w, wrong_own_derivative, order=2).ok


def test_raises_with_the_report_as_message():
  loss, backprop, params = two_layer_problem()
  wrong = lambda p: backprop(p, sigmoid_derivative=False)
  with pytest.raises(GradcheckError) as raised:
    gradcheck(loss, params, wrong, raise_on_failure=True)
  assert isinstance(raised.value.report, GradcheckReport)
  assert str(raised.value) == str(raised.value.report)
  assert str(raised.value).splitlines()[0].startswith("gradcheck FAILED")
  with pytest.raises(GradcheckError):
    raised.value.report.raise_if_failed()


def test_zero_derivatives_and_nans(x64):
  loss = lambda p: jnp.sum(p["used"] ** 2) + 0.0 * jnp.sum(p["unused"])
  params = {"used": jnp.array([1.0, -2.0]), "unused": jnp.array([3.0, 4.0])}
  report = gradcheck(loss, params)
  assert report.ok and report.max_rel_error < 1e-8  # exact zeros agree, no 0/0
  nan_grad = lambda p: {"used": 2 * p["used"], "unused": jnp.full(2, jnp.nan)}
  report = gradcheck(loss, params, nan_grad)
  assert not report.ok and report.max_rel_error == np.inf
  assert "nan" in str(report)


def test_bad_arguments_are_one_clear_error():
  loss, backprop, params = two_layer_problem()
  with pytest.raises(ValueError, match=r"gradcheck\(eps=0\): eps must be in \(0, inf\)"):
    gradcheck(loss, params, eps=0)
  with pytest.raises(ValueError, match=r"gradcheck\(order=3\): order must be in \[1, 2\]"):
    gradcheck(loss, params, order=3)
  with pytest.raises(ValueError, match="not both"):
    gradcheck(loss, params, num_checks=3, num_directions=3)
  with pytest.raises(ValueError, match=r"leaf \['n'\] has dtype int32"):
    gradcheck(lambda p: p["w"].sum(), {"w": jnp.ones(2), "n": jnp.ones(2, jnp.int32)})
  with pytest.raises(ValueError, match="scalar"):
    gradcheck(lambda p: p["w1"] * 2, params)
  with pytest.raises(ValueError, match="structure"):
    gradcheck(loss, params, lambda p: [backprop(p)["w1"]])


def test_a_function_that_forces_float32_is_warned_about():
  loss = lambda w: jnp.sum(jnp.sin(w.astype(jnp.float32)))
  with pytest.warns(UserWarning, match="float32 on float64"):
    gradcheck(loss, jnp.array([0.1, 0.2]))
