"""Bad concrete hyperparameters fail at construction with a message naming the call, the
parameter, the value and the valid range; traced values are never rejected."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from optimizer_table import TABLE

RANGES = {  # parameter -> (valid range as the message writes it, bad values)
    "learning_rate": ("[0, inf)", [-0.1, math.nan, math.inf]),
    "beta": ("[0, 1)", [-0.1, 1.0, 1.5, math.nan]),
    "b1": ("[0, 1)", [-0.1, 1.0, math.nan]),
    "b2": ("[0, 1)", [-1e-3, 1.0, math.nan]),
    "decay": ("[0, 1)", [-0.5, 1.0, math.nan]),
    "eps": ("[0, inf)", [-1e-8, math.nan, math.inf]),
    "weight_decay": ("[0, inf)", [-0.01, math.nan, math.inf]),
}
CASES = [(name, param, bad) for name, row in TABLE.items() for param in row.hyper
         for bad in RANGES[param][1]]


@pytest.mark.parametrize("name,param,bad", CASES)
def test_bad_values_are_rejected_with_a_precise_message(name, param, bad):
  row = TABLE[name]
  interval = RANGES[param][0]
  expected = f"{name}({param}={bad!r}): {param} must be in {interval}, got {bad!r}"
  with pytest.raises(ValueError) as error:
    row.factory(**{**row.hyper, param: bad})
  assert str(error.value) == expected


def test_the_contract_example():
  with pytest.raises(ValueError) as error:
    jl.adam(b1=1.0)
  assert str(error.value) == "adam(b1=1.0): b1 must be in [0, 1), got 1.0"


@pytest.mark.parametrize("call,kwargs,message", [
    (jl.scale_by_momentum, dict(beta=1.0), "scale_by_momentum(beta=1.0): beta must be in [0, 1)"),
    (jl.scale_by_rms, dict(eps=-1.0), "scale_by_rms(eps=-1.0): eps must be in [0, inf)"),
    (jl.clip_by_global_norm, dict(max_norm=0.0),
     "clip_by_global_norm(max_norm=0.0): max_norm must be in (0, inf)"),
    (jl.add_decayed_weights, dict(weight_decay=-1),
     "add_decayed_weights(weight_decay=-1): weight_decay must be in [0, inf)"),
    (jl.scale_by_learning_rate, dict(learning_rate=np.float32(-2)),
     "scale_by_learning_rate(learning_rate=-2.0): learning_rate must be in [0, inf)"),
    (jl.adam, dict(learning_rate=jnp.array([1e-3, 1e-2])), "learning_rate must be a scalar"),
    (jl.sgd, dict(learning_rate="fast"), "learning_rate must be a real number"),
])
def test_building_blocks_and_odd_types(call, kwargs, message):
  with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                     .replace("[", r"\[")):
    call(**kwargs)


@pytest.mark.parametrize("name", TABLE)
def test_traced_values_are_never_rejected(name):
  """Inside jit the values are unknown: even ones that would be rejected concretely trace."""
  row = TABLE[name]
  bad = {k: jnp.float32(RANGES[k][1][0]) for k in row.hyper}
  params = {"w": jnp.ones(3)}
  jax.jit(lambda h: row.factory(**h).init(params))(bad)  # no error


def test_schedules_are_accepted_unchecked():
  jl.adam(lambda step: 1e-3 * 0.5 ** step)
