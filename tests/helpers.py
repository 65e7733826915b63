"""Running an optimizer for a few steps (ours and torch.optim's), and scripts on 8 forced CPU
devices: shared by the tests."""
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from jax.flatten_util import ravel_pytree


def trajectory(optimizer: optax.GradientTransformation, loss, params, steps: int) -> jax.Array:
  """Iterates w1..w_steps of `optimizer` on `loss`, raveled to flat vectors (pure, traceable)."""

  def step(carry, _):
    params, state = carry
    updates, state = optimizer.update(jax.grad(loss)(params), state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), ravel_pytree(params)[0]

  params = jax.tree.map(jnp.asarray, params)
  return jax.lax.scan(step, (params, optimizer.init(params)), length=steps)[1]


def run(optimizer: optax.GradientTransformation, loss, params, steps: int) -> np.ndarray:
  """Iterates [w0, ..., w_steps] as a NumPy array, compiled with jit."""
  params = jax.tree.map(jnp.asarray, params)
  path = jax.jit(lambda p: trajectory(optimizer, loss, p, steps))(params)
  return np.concatenate([ravel_pytree(params)[0][None], path])


@contextlib.contextmanager
def torch_float64():
  """torch's default dtype float64 while it runs: NAdam keeps its scalar mu_product (and
  other optimizers their step counts) in the default dtype, float32 otherwise."""
  default = torch.get_default_dtype()
  torch.set_default_dtype(torch.float64)
  try:
    yield
  finally:
    torch.set_default_dtype(default)


def run_torch(make, loss, params, steps, schedule=None):
  """Iterates of a torch.optim optimizer fed the same float64 (or complex128) gradients as the
  JAX runs; `make(tensors)` builds it from the leaves in sorted-name order."""
  with torch_float64():
    return _run_torch(make, loss, params, steps, schedule)


def _run_torch(make, loss, params, steps, schedule):
  names = sorted(params)  # the order of jax's dict leaves, and of ravel_pytree
  wide = lambda x: np.asarray(x, np.result_type(x, np.float64))  # float64 or complex128
  tensors = [torch.tensor(wide(params[k]), requires_grad=True) for k in names]
  optimizer = make(tensors)
  scheduler = schedule and torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
  grad = jax.jit(jax.grad(loss))
  flat = lambda: np.concatenate([t.detach().numpy().ravel() for t in tensors])
  path = [flat()]
  for _ in range(steps):
    grads = grad({k: t.detach().numpy() for k, t in zip(names, tensors)})
    for k, t in zip(names, tensors):
      t.grad = torch.from_numpy(np.array(grads[k]))
    optimizer.step()
    if scheduler:
      scheduler.step()
    path.append(flat())
  return np.stack(path)


def multi_leaf_problem(seed: int = 0):
  """A smooth, non-quadratic loss on three leaves (robust regression, a tanh layer, a quartic)."""
  rng = np.random.default_rng(seed)
  x, y, z = rng.normal(size=(20, 5)), rng.normal(size=20), rng.normal(size=(20, 3))
  params = {"w": rng.normal(size=5), "W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}

  def loss(p):
    residual = x @ p["w"] - y
    hidden = jnp.tanh(z @ p["W"] + p["b"])
    return jnp.mean(jnp.log1p(residual ** 2)) + jnp.mean(hidden ** 2) + 0.01 * jnp.sum(p["W"] ** 4)

  return loss, params


def run_on_8_devices(script: str, out: Path):
  """Runs tests/sharded/<script> in a process with 8 forced CPU devices; it saves to `out`."""
  tests = Path(__file__).parent
  environment = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
                     PYTHONPATH=os.pathsep.join([str(tests.parent), str(tests)]))
  subprocess.run([sys.executable, str(tests / "sharded" / script), str(out)], check=True,
                 env=environment, timeout=300)
  return np.load(out)


def run_compiled(fn, *args):
  """`jax.jit(fn)(*args)`, compiled as sweeps compile on the CPU (LLVM at optimisation level
  1: half the compile time of a training program, the same results)."""
  from jaxopt_lab.sweeps.engine import CPU_COMPILER_OPTIONS
  options = CPU_COMPILER_OPTIONS if jax.default_backend() == "cpu" else {}
  return jax.jit(fn).lower(*args).compile(compiler_options=options)(*args)
