"""K training runs of a small digits MLP (Adam, one learning rate each): a vmapped sweep vs loops.

Contenders, each training the same K configurations for --steps minibatch steps (batch 32) and
scoring the validation set once at the end; times are end to end, compilation included:
  vmapped sweep        jaxopt_lab.run_sweep: all K runs in one compiled program
  (a) re-jit per config   a Python loop that builds adam(lr) with lr a Python float and jits
                          the run again for every configuration (what optax users write today)
  (b) jit once, loop      one jitted run with a traced learning rate, called K times
  (c) torch.optim loop    the same K models trained one after another with torch.optim.Adam
Loops (a)-(c) are timed on their first --loop-configs configurations and extrapolated
linearly to K (the first configuration, compilation included, counted once; every other
configuration costs the same); the vmapped sweep always runs all K. Models: "tiny" 64-16-10,
"small" 64-64-10. Writes sweep.json and sweep.md.

  python -m benchmarks.sweep --sizes 16,64,256 --steps 300
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import torch

import jaxopt_lab as jl
from jaxopt_lab.train.data import batches_per_epoch
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.tasks import digits_task

MODELS = {"tiny": (16,), "small": (64,)}
BATCH = 32


def learning_rates(k: int) -> np.ndarray:
  return np.geomspace(1e-4, 1e-1, k)


def make_task(widths, steps):
  return digits_task("adam", widths=widths, steps=steps, batch_size=BATCH, eval_every=steps)


def time_vmapped(widths, steps, k) -> float:
  task = make_task(widths, steps)  # a fresh run function: nothing compiled yet
  began = time.perf_counter()
  result = run_sweep(task.run, {"learning_rate": learning_rates(k)}, seeds=[0],
                     objective=task.objective, progress=False)
  assert np.isfinite(result.table.final_val_loss).all()
  return time.perf_counter() - began


def extrapolated(seconds: list, k: int) -> float:
  """A loop's time for K configurations from its first few: the first (compilation included)
  once, the mean of the others for each of the remaining K - 1."""
  return seconds[0] + (k - 1) * np.mean(seconds[1:])


def seconds_per_config(train_one, measured: int) -> list:
  """Wall time of `train_one(learning_rate)` for each of the first `measured` configurations."""
  seconds = []
  for rate in learning_rates(measured):
    began = time.perf_counter()
    train_one(float(rate))
    seconds.append(time.perf_counter() - began)
  return seconds


def time_rejit_loop(widths, steps, measured) -> list:
  task = make_task(widths, steps)

  def train_one(rate):  # rate a Python constant: a new program for every configuration
    run = jax.jit(lambda key: task.run({"learning_rate": rate}, key))
    jax.block_until_ready(run(jax.random.key(0)))
  return seconds_per_config(train_one, measured)


def time_jit_once_loop(widths, steps, measured) -> list:
  task = make_task(widths, steps)
  run = jax.jit(task.run)
  return seconds_per_config(lambda rate: jax.block_until_ready(
      run({"learning_rate": jnp.float32(rate)}, jax.random.key(0))), measured)


def torch_run(widths, steps, rate, data, seed=0) -> float:
  """One torch.optim.Adam run of the same MLP: per-epoch shuffles, batch 32, validation at the end."""
  generator = torch.Generator().manual_seed(seed)
  sizes = (64, *widths, 10)
  layers = []
  for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
    layers.append(torch.nn.Linear(fan_in, fan_out))
    if i < len(sizes) - 2:
      layers.append(torch.nn.ReLU())
  model = torch.nn.Sequential(*layers)
  optimizer = torch.optim.Adam(model.parameters(), lr=rate)
  x, y, x_val, y_val = data
  per_epoch = batches_per_epoch(len(y), BATCH)
  for step in range(steps):
    if step % per_epoch == 0:
      order = torch.randperm(len(y), generator=generator)
    index = order[(step % per_epoch) * BATCH:(step % per_epoch + 1) * BATCH]
    loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
  with torch.no_grad():
    return float(torch.nn.functional.cross_entropy(model(x_val), y_val))


def time_torch_loop(widths, steps, measured) -> list:
  digits = jl.train.digits(0)
  data = (torch.tensor(np.asarray(digits.x_train)), torch.tensor(np.asarray(digits.y_train),
                                                                dtype=torch.long),
          torch.tensor(np.asarray(digits.x_val)), torch.tensor(np.asarray(digits.y_val),
                                                              dtype=torch.long))

  def train_one(rate):
    assert np.isfinite(torch_run(widths, steps, rate, data))
  return seconds_per_config(train_one, measured)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="16,64,256", help="numbers of configurations K")
  parser.add_argument("--models", default="tiny,small")
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--loop-configs", type=int, default=6,
                      help="configurations the loops run before extrapolating to K")
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  if args.loop_configs < 2:
    parser.error("--loop-configs must be at least 2 (the first one includes compilation)")
  torch.set_num_threads(os.cpu_count() or 1)
  sizes = [int(s) for s in args.sizes.split(",")]
  results = []
  for model in args.models.split(","):
    widths = MODELS[model]
    loops = {"(a) re-jit per config": time_rejit_loop, "(b) jit once, loop": time_jit_once_loop,
             "(c) torch.optim loop": time_torch_loop}
    loop_seconds = {name: timer(widths, args.steps, args.loop_configs)
                    for name, timer in loops.items()}
    for k in sizes:
      vmapped = time_vmapped(widths, args.steps, k)
      row = {"model": model, "configs": k, "steps": args.steps, "vmapped_s": vmapped,
             "configs_x_steps_per_s": k * args.steps / vmapped}
      for name, seconds in loop_seconds.items():
        total = extrapolated(seconds, k)
        row[f"{name} s"] = total
        row[f"{name} x"] = total / vmapped
      results.append(row)
      print(f"{model} K={k}: vmapped {vmapped:.2f} s; " + ", ".join(
          f"{name} {row[f'{name} s']:.1f} s ({row[f'{name} x']:.1f}x)" for name in loops))
  args.out.mkdir(parents=True, exist_ok=True)
  device = f"{jax.devices()[0].device_kind} ({platform.processor() or platform.machine()}, " \
           f"{os.cpu_count()} cores)"
  (args.out / "sweep.json").write_text(json.dumps(
      {"device": device, "steps": args.steps, "batch_size": BATCH, "results": results}, indent=2))
  names = list(loops)
  lines = [f"Sweep of K Adam runs on digits, {args.steps} steps of batch {BATCH}, {device}; "
           "seconds end to end (compilation included); loops extrapolated from "
           f"{args.loop_configs} configurations", "",
           "| model | K | vmapped sweep s | configs x steps / s | " +
           " | ".join(f"{n} s (x vmapped)" for n in names) + " |",
           "|---|---:|---:|---:|" + "---:|" * len(names)]
  for r in results:
    lines.append(f"| {r['model']} | {r['configs']} | {r['vmapped_s']:.2f} | "
                 f"{r['configs_x_steps_per_s']:.0f} | " +
                 " | ".join(f"{r[f'{n} s']:.1f} ({r[f'{n} x']:.1f}x)" for n in names) + " |")
  table = "\n".join(lines)
  (args.out / "sweep.md").write_text(table + "\n")
  print(table)


if __name__ == "__main__":
  main()
