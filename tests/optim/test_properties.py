"""Property-based tests (hypothesis): each property holds for 100 deterministic examples.

Every property is compiled once, for fixed shapes, and hypothesis varies only the values (the
gradients, parameters and hyperparameters are traced arguments), so 100 examples cost about
as much as 100 calls of a compiled step. The numeric domain of each property is stated: the
optimizers' documented ranges (transforms.py) bound the gradients.
"""
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import jaxopt_lab as jl
from optimizer_table import TABLE

settings.register_profile(
    "reliability", derandomize=True, max_examples=100, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings(settings.get_profile("reliability"))

SIZE = 11  # the tree below, flattened
STEPS = 3


def as_tree(flat):
  """A two-leaf tree from a flat vector of SIZE values: {"w": [5], "b": [2, 3]}."""
  return {"w": flat[:5], "b": flat[5:].reshape(2, 3)}


def values(low: float, high: float, shape=(SIZE,)):
  """float32 arrays with entries in [low, high]."""
  elements = st.floats(float(np.float32(low)), float(np.float32(high)), width=32,
                       allow_subnormal=False)
  return arrays(np.float32, shape, elements=elements)


def nonzero_values(smallest: float, largest: float, shape=(SIZE,)):
  """float32 arrays with entries of either sign and smallest <= |x| <= largest."""
  magnitude = st.floats(float(np.float32(smallest)), float(np.float32(largest)), width=32)
  elements = st.tuples(st.sampled_from([-1.0, 1.0]), magnitude).map(lambda t: t[0] * t[1])
  return arrays(np.float32, shape, elements=elements)


@jax.jit
def run_every_optimizer(grads, params):
  """STEPS steps of every optimizer in the table on the same gradients (rows of `grads`)."""
  results = {}
  for name, row in TABLE.items():
    optimizer = row.factory(**row.hyper)
    state = optimizer.init(as_tree(params))
    for step in range(STEPS):
      updates, state = optimizer.update(as_tree(grads[step]), state, as_tree(params))
    results[name] = (updates, state)
  return results


@PROFILE
@given(grads=values(-1e18, 1e18, (STEPS, SIZE)), params=values(-1e18, 1e18))
def test_finite_in_finite_out(grads, params):
  """Finite gradients and parameters (|x| <= 1e18, inside AdaGrad's sum-of-squares range of
  1.8e19) give finite updates and state for every optimizer."""
  for name, tree in run_every_optimizer(grads, params).items():
    for leaf in jax.tree.leaves(tree):
      assert bool(jnp.all(jnp.isfinite(leaf))), name


TREES = st.recursive(
    st.sampled_from([(), (1,), (3,), (2, 3)]).map(lambda shape: jnp.zeros(shape, jnp.float32)),
    lambda children: st.one_of(st.lists(children, min_size=1, max_size=3),
                               st.lists(children, min_size=1, max_size=3).map(tuple),
                               st.dictionaries(st.sampled_from("abcd"), children, min_size=1,
                                               max_size=3)),
    max_leaves=6)


@PROFILE
@given(tree=TREES, name=st.sampled_from(sorted(TABLE)))
def test_tree_structure_and_shapes_are_preserved(tree, name):
  """Any nesting of lists, tuples and dicts, for each optimizer of the table: updates have the
  gradients' structure, shapes and dtypes, and the state keeps its own across a step. Checked
  by abstract evaluation (jax.eval_shape), which traces without compiling."""
  spec = lambda t: (jax.tree.structure(t), [(x.shape, x.dtype) for x in jax.tree.leaves(t)])
  row = TABLE[name]
  optimizer = row.factory(**row.hyper)
  state = jax.eval_shape(optimizer.init, tree)
  updates, new_state = jax.eval_shape(optimizer.update, tree, state, tree)
  assert spec(updates) == spec(tree)
  assert spec(new_state) == spec(state)


LINEAR = [name for name, row in TABLE.items() if row.linear_in_gradients]


@jax.jit
def linear_updates(grads, learning_rate, beta):
  """The STEPS-th update of sgd, momentum and nesterov fed the rows of `grads`."""
  out = []
  for name in LINEAR:
    hyper = {"learning_rate": learning_rate} | ({"beta": beta} if "beta" in TABLE[name].hyper
                                                else {})
    optimizer = TABLE[name].factory(**hyper)
    state = optimizer.init(as_tree(grads[0]))
    for step in range(STEPS):
      updates, state = optimizer.update(as_tree(grads[step]), state)
    out.append(jnp.concatenate([x.ravel() for x in jax.tree.leaves(updates)]))
  return jnp.stack(out)


@PROFILE
@given(g1=values(-1e3, 1e3, (STEPS, SIZE)), g2=values(-1e3, 1e3, (STEPS, SIZE)),
       a=st.floats(-10, 10), b=st.floats(-10, 10), learning_rate=st.floats(1e-4, 1.0),
       beta=st.floats(0.0, 0.99))
def test_sgd_and_momentum_updates_are_linear_in_the_gradients(g1, g2, a, b, learning_rate,
                                                              beta):
  """u(a g1 + b g2) = a u(g1) + b u(g2), to float32 rounding (a few ulps of the terms)."""
  combined = linear_updates(jnp.float32(a * g1 + b * g2), learning_rate, beta)
  separate = (a * np.float64(linear_updates(g1, learning_rate, beta))
              + b * np.float64(linear_updates(g2, learning_rate, beta)))
  scale = (abs(a) * np.abs(linear_updates(g1, learning_rate, beta))
           + abs(b) * np.abs(linear_updates(g2, learning_rate, beta)))
  np.testing.assert_allclose(combined, separate, rtol=0, atol=1e-6 * float(scale.max()) + 1e-30)


@jax.jit
def adam_first_step(grads, learning_rate, b1, b2):
  optimizer = jl.adam(learning_rate, b1, b2, eps=0.0)
  return optimizer.update(grads, optimizer.init(grads))[0]


@PROFILE
@given(grads=nonzero_values(1e-15, 1.8e19), learning_rate=st.floats(1e-6, 1.0),
       b1=st.floats(0.0, 0.999), b2=st.floats(0.0, 0.9999))
def test_adams_first_step_is_minus_learning_rate_times_sign(grads, learning_rate, b1, b2):
  """With eps = 0 and bias correction, step 1 is -lr (1-b1) g / (1-b1) / (|g| sqrt(1-b2) /
  sqrt(1-b2)) = -lr sign(g), for 1e-15 <= |g| <= 1.8e19 = sqrt(float32 max), the range in
  which (sqrt(1 - b2) g)^2 is a normal float32 for every b2 in [0, 0.9999]."""
  updates = adam_first_step(grads, learning_rate, b1, b2)
  np.testing.assert_allclose(updates, -np.float32(learning_rate) * np.sign(grads), rtol=2e-6)


CONFIGS = 4


def final_updates(name, rate, other, grads, params):
  """`other` in [0, 1] is mapped onto the row's swept axis (`Row.swept_axis`)."""
  row = TABLE[name]
  hyper = {**row.hyper, "learning_rate": rate}
  axis = row.swept_axis()
  if axis:
    hyper[axis[0]] = axis[1] + other * (axis[2] - axis[1])
  optimizer = row.factory(**hyper)
  state = optimizer.init(as_tree(params))
  for step in range(STEPS):
    updates, state = optimizer.update(as_tree(grads[step]), state, as_tree(params))
  return jnp.concatenate([x.ravel() for x in jax.tree.leaves(updates)])


@jax.jit
def all_vmapped(rates, others, grads, params):
  return {name: jax.vmap(lambda r, o: final_updates(name, r, o, grads, params))(rates, others)
          for name in TABLE}


@jax.jit
def all_single(rate, other, grads, params):
  return {name: final_updates(name, rate, other, grads, params) for name in TABLE}


@PROFILE
@given(rates=values(1e-4, 1.0, (CONFIGS,)), others=values(0.0, 1.0, (CONFIGS,)),
       grads=values(-10, 10, (STEPS, SIZE)), params=values(-10, 10))
def test_vmap_over_hyperparameters_equals_a_loop(rates, others, grads, params):
  """One vmapped program over 4 configurations gives each configuration's own result (the
  loop calls one compiled single-configuration program 4 times)."""
  batched = all_vmapped(rates, others, grads, params)
  for i in range(CONFIGS):
    single = all_single(rates[i], others[i], grads, params)
    for name in TABLE:
      np.testing.assert_allclose(batched[name][i], single[name], rtol=1e-5,
                                 atol=TABLE[name].float32_atol, err_msg=name)
