"""One Adam step on n float32 parameters: jaxopt_lab vs optax vs torch.optim vs memory speed.

An fp32 Adam step must read p, g, m, v and write p, m, v: 28 bytes per parameter. The
ceiling is a jitted, donated in-place scaling x <- c x of 3.5 floats per parameter: one
streaming pass over exactly 28 bytes per parameter. Contenders, each jitted with donated
params and state:
  jaxopt_lab.adam     our chain + optax.apply_updates
  optax.adam          the same through optax
  probe: one function the whole step as one function of separate (p, g, m, v) arrays
  probe: interleaved  p, m, v stored as one [n, 3] array, so one output can hold them all
  probe: blocks       p, m, v stored as [n/1024, 3, 1024]: interleaved by blocks of 1024
  probe: scan         lax.scan over rows of 64K elements, each row's p, m, v done in cache
  torch foreach / torch fused   torch.optim.Adam(foreach=True) and (fused=True)
The probes ask whether XLA:CPU can be led to a single pass; "XLA passes" counts the
parameter-sized loop fusions in the compiled program (1 = a single pass).
Rounds are interleaved, each in a new random order, and the median per contender is
reported, with
ratios to optax.adam and the fraction of the ceiling's bandwidth, so machine noise hits all
alike. Writes JSON and a markdown table.

  python -m benchmarks.optimizer_step --sizes 1e6,1e7 --rounds 7
"""
import argparse
import math
import os
import re
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import jaxopt_lab as jl
from benchmarks import machine, write_results

BYTES_PER_PARAMETER = 28  # read p, g, m, v; write p, m, v (float32)


def jax_step(optimizer):
  def step(params, state, grads):
    updates, state = optimizer.update(grads, state, params)
    return optax.apply_updates(params, updates), state
  return jax.jit(step, donate_argnums=(0, 1))


def adam_math(p, m, v, g, count, learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8):
  c1 = 1 - b1 ** count.astype(jnp.float32)
  c2 = 1 - b2 ** count.astype(jnp.float32)
  m = b1 * m + (1 - b1) * g
  v = b2 * v + (1 - b2) * g * g
  return p - learning_rate * (m / c1) / (jnp.sqrt(v / c2) + eps), m, v


def one_function_step():
  """Adam as one elementwise function of separate arrays (p, g, m, v) -> (p, m, v)."""
  def step(params, state, grads):
    count, m, v = state
    params, m, v = adam_math(params, m, v, grads, count + 1)
    return params, (count + 1, m, v)
  return jax.jit(step, donate_argnums=(0, 1))


def interleaved_step():
  """Adam on an [n, 3] array holding (p, m, v) side by side: one output, one loop."""
  def step(packed, count, grads):
    p, m, v = adam_math(packed[:, 0], packed[:, 1], packed[:, 2], grads, count + 1)
    return jnp.stack([p, m, v], axis=1), count + 1
  return jax.jit(step, donate_argnums=(0, 1))


def blocks_step(width=1024):
  """Adam on [n / width, 3, width]: p, m, v interleaved block by block, one output."""
  def step(packed, count, grads):
    g = grads.reshape(-1, width)
    p, m, v = adam_math(packed[:, 0], packed[:, 1], packed[:, 2], g, count + 1)
    return jnp.stack([p, m, v], axis=1), count + 1
  return jax.jit(step, donate_argnums=(0, 1))


ROW = 1 << 16


def scan_step(row=ROW):
  """Adam as a lax.scan over rows of `row` elements: each row read and written while in cache."""
  def step(params, state, grads):
    count, m, v = state
    rows = lambda x: x.reshape(-1, row)
    body = lambda _, xs: (None, adam_math(*xs, count + 1))
    _, (params, m, v) = jax.lax.scan(body, None, tuple(map(rows, (params, m, v, grads))))
    flat = lambda x: x.reshape(-1)
    return flat(params), (count + 1, flat(m), flat(v))
  return jax.jit(step, donate_argnums=(0, 1))


def stream_ceiling_step():
  """x <- c x over 3.5 floats per parameter: one pass moving 28 bytes per parameter."""
  return jax.jit(lambda x, count, grads: (x * 1.0000001, count), donate_argnums=(0, 1))


class JaxContender:
  def __init__(self, step, init, n, seed=0, shape=None):
    keys = jax.random.split(jax.random.key(seed), 2)
    self.params = jax.random.normal(keys[0], shape or (n,), jnp.float32)
    self.grads = jax.random.normal(keys[1], (n,), jnp.float32)
    self.state = init(self.params)
    self.step = step

  def run(self, steps):
    for _ in range(steps):
      self.params, self.state = self.step(self.params, self.state, self.grads)
    jax.block_until_ready(self.params)


class TorchContender:
  def __init__(self, n, **options):
    generator = torch.Generator().manual_seed(0)
    self.params = torch.randn(n, generator=generator, requires_grad=True)
    self.params.grad = torch.randn(n, generator=generator)
    self.optimizer = torch.optim.Adam([self.params], lr=1e-3, **options)

  def run(self, steps):
    for _ in range(steps):
      self.optimizer.step()


CEILING = "stream ceiling (28 B/param)"


def contenders(n):
  zeros = lambda p: (jnp.zeros([], jnp.int32), jnp.zeros_like(p), jnp.zeros_like(p))
  counter = lambda p: jnp.zeros([], jnp.int32)
  return {
      CEILING: JaxContender(stream_ceiling_step(), counter, n, shape=(int(3.5 * n),)),
      "jaxopt_lab.adam": JaxContender(jax_step(jl.adam(1e-3)), jl.adam(1e-3).init, n),
      "optax.adam": JaxContender(jax_step(optax.adam(1e-3)), optax.adam(1e-3).init, n),
      "probe: one function": JaxContender(one_function_step(), zeros, n),
      "probe: interleaved [n, 3]": JaxContender(interleaved_step(), counter, n, shape=(n, 3)),
      "probe: blocks [n/1024, 3, 1024]": JaxContender(blocks_step(), counter, n,
                                                      shape=(n // 1024, 3, 1024)),
      "probe: scan over 64K rows": JaxContender(scan_step(), zeros, n),
      "torch foreach": TorchContender(n, foreach=True),
      "torch fused": TorchContender(n, fused=True),
  }


def xla_passes(contender: "JaxContender") -> int:
  """Loop fusions over >= n elements in the compiled step: passes over memory (1 = single).

  The scan probe's loop body works on one row at a time; what it counts are whole-array
  copies XLA adds around the loop.
  """
  lowered = contender.step.lower(contender.params, contender.state, contender.grads)
  text = lowered.compile().as_text()
  n = contender.grads.size
  passes = 0
  for line in text.splitlines():
    if " fusion(" not in line:
      continue
    shape = re.match(r"\s*f32\[([\d,]+)\]", line.split("=", 1)[1])
    if shape and math.prod(int(d) for d in shape.group(1).split(",")) >= n:
      passes += 1
  return passes


def time_interleaved(field: dict, rounds: int, steps: int) -> dict:
  """Median seconds per step of each contender of `field`: each is compiled and warmed first,
  then timed over `rounds` rounds, each visiting every contender once in a new random order
  (no contender always follows the same one)."""
  for contender in field.values():
    contender.run(2)  # compile and warm the caches
  keys = list(field)
  times = {key: [] for key in keys}
  rng = np.random.default_rng(0)
  for _ in range(rounds):
    for i in rng.permutation(len(keys)):
      start = time.perf_counter()
      field[keys[i]].run(steps)
      times[keys[i]].append((time.perf_counter() - start) / steps)
  return {key: float(np.median(samples)) for key, samples in times.items()}


def measure(n, rounds, steps):
  return time_interleaved(contenders(n), rounds, steps)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="1e6,3e6,1e7")
  parser.add_argument("--rounds", type=int, default=15)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  # multiples of 64K elements, so the blocked and scanned probes tile them exactly
  sizes = [max(1, round(float(s) / ROW)) * ROW for s in args.sizes.split(",")]
  torch.set_num_threads(os.cpu_count() or 1)
  results = []
  for n in sizes:
    field = contenders(n)
    fusions = {name: xla_passes(c) for name, c in field.items() if isinstance(c, JaxContender)}
    del field
    seconds = measure(n, args.rounds, args.steps)
    ceiling = seconds[CEILING]
    for name, t in seconds.items():
      results.append({"parameters": n, "contender": name, "ms_per_step": 1e3 * t,
                      "vs_optax": t / seconds["optax.adam"], "of_ceiling": ceiling / t,
                      "GB_per_s": BYTES_PER_PARAMETER * n / t / 1e9,
                      "xla_passes": fusions.get(name)})
  device = machine(jax.devices()[0].device_kind)
  lines = [f"Adam step, float32, {device}; median of {args.rounds} rounds in shuffled order",
           "", "| parameters | contender | ms/step | x optax.adam | of ceiling | GB/s | XLA passes |",
           "|---:|---|---:|---:|---:|---:|---:|"]
  for r in results:
    lines.append(f"| {r['parameters']:.0e} | {r['contender']} | {r['ms_per_step']:.2f} | "
                 f"{r['vs_optax']:.2f} | {r['of_ceiling']:.2f} | {r['GB_per_s']:.1f} | "
                 f"{r['xla_passes'] if r['xla_passes'] is not None else '-'} |")
  write_results(args.out, "optimizer_step", {"device": device, "rounds": args.rounds,
                                              "steps": args.steps, "results": results},
                "\n".join(lines))


if __name__ == "__main__":
  main()
