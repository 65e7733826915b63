"""Gradients, state and parameters whose pytrees do not match give a ValueError naming the
call and the first leaf path where they differ, in eager code and at trace time under jit."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab._validation import check_same_tree
from jaxopt_lab.optim.nonfinite import skip_nonfinite

PARAMS = {"w": jnp.ones(3), "b": jnp.zeros(2)}

BLOCKS = {  # block -> (transform, the call its message names)
    "scale_by_momentum": (jl.scale_by_momentum(), "scale_by_momentum"),
    "scale_by_nesterov": (jl.scale_by_nesterov(), "scale_by_nesterov"),
    "scale_by_adagrad": (jl.scale_by_adagrad(), "scale_by_adagrad"),
    "scale_by_rmsprop": (jl.scale_by_rmsprop(), "scale_by_rmsprop"),
    "scale_by_adam": (jl.scale_by_adam(), "scale_by_adam"),
    "scale_by_adam(amsgrad=True)": (jl.scale_by_adam(amsgrad=True), "scale_by_adam"),
    "momentum_velocity_form": (jl.momentum_velocity_form(0.1), "momentum_velocity_form"),
    "nesterov_lookahead_form": (jl.nesterov_lookahead_form(0.1), "nesterov_lookahead_form"),
    "nesterov_change_of_variables": (jl.nesterov_change_of_variables(0.1),
                                     "nesterov_change_of_variables"),
}
OPTIMIZERS = {  # optimizer -> the block whose check fires (sgd has no state to mismatch)
    "momentum": (jl.momentum(0.1), "scale_by_momentum"),
    "nesterov": (jl.nesterov(0.1), "scale_by_nesterov"),
    "adagrad": (jl.adagrad(0.1), "scale_by_adagrad"),
    "rmsprop": (jl.rmsprop(0.1), "scale_by_rmsprop"),
    "adam": (jl.adam(0.1), "scale_by_adam"),
    "adamw": (jl.adamw(0.1), "scale_by_adam"),
    "amsgrad": (jl.amsgrad(0.1), "scale_by_adam"),
    "skip_nonfinite(adam)": (skip_nonfinite(jl.adam(0.1)), "scale_by_adam"),
}
MISMATCHES = {  # grads that do not match PARAMS -> the leaf path the message must name
    "extra leaf": ({"w": jnp.ones(3), "b": jnp.zeros(2), "c": jnp.ones(1)}, "['c']"),
    "missing leaf": ({"w": jnp.ones(3)}, "['b']"),
    "renamed leaf": ({"w": jnp.ones(3), "a": jnp.zeros(2)}, "['a']"),
    "wrong shape": ({"w": jnp.ones(4), "b": jnp.zeros(2)}, "['w']"),
    "broadcastable shape": ({"w": jnp.ones(3), "b": jnp.zeros(())}, "['b']"),
}


def message_pattern(call: str, path: str) -> str:
  """`call.update: grads and state.<field> differ at <path>...`"""
  return (rf"^{re.escape(call)}\.update: grads and state\.\w+ differ at "
          rf"{re.escape(path)}: (shape|(grads|state\.\w+) has a leaf there)")


CASES = [(name, t, call, kind) for table in (BLOCKS, OPTIMIZERS)
         for name, (t, call) in table.items() for kind in MISMATCHES]


@pytest.mark.parametrize("name,transform,call,kind", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_mismatched_gradients_name_the_call_and_the_leaf_path(name, transform, call, kind):
  grads, path = MISMATCHES[kind]
  with pytest.raises(ValueError, match=message_pattern(call, path)):
    transform.update(grads, transform.init(PARAMS), PARAMS)


@pytest.mark.parametrize("block", ["scale_by_adam", "momentum_velocity_form"])
def test_raised_at_trace_time_under_jit(block):
  transform, call = BLOCKS[block]
  grads, path = MISMATCHES["wrong shape"]
  with pytest.raises(ValueError, match=message_pattern(call, path)):
    jax.jit(transform.update)(grads, transform.init(PARAMS))


def test_add_decayed_weights_checks_updates_against_params():
  transform = jl.add_decayed_weights(0.1)
  with pytest.raises(ValueError, match=re.escape(
      "add_decayed_weights.update: updates and params differ at ['b']: shape (2,) vs (5,)")):
    transform.update(PARAMS, transform.init(PARAMS), {"w": jnp.ones(3), "b": jnp.ones(5)})


def test_container_types_that_differ_with_the_same_leaf_paths():
  transform = jl.scale_by_momentum()
  with pytest.raises(ValueError, match=r"differ in container types, with the same leaf paths"):
    transform.update([jnp.ones(2)], transform.init((jnp.ones(2),)))


def test_matching_trees_pass_and_none_is_skipped():
  check_same_tree("f", ("a", PARAMS), ("b", jax.tree.map(jnp.zeros_like, PARAMS)), ("c", None))
  updates, _ = jl.adam(0.1).update(PARAMS, jl.adam(0.1).init(PARAMS))
  assert jax.tree.structure(updates) == jax.tree.structure(PARAMS)
  np.testing.assert_allclose(updates["w"], -0.1, rtol=1e-6)
