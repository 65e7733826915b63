"""Each zoo optimizer's step against its optax counterpart, as ratios within one run.

Both contenders of a pair are jitted with donated parameters and state, run on the same
float32 matrix [256, n / 256] (a matrix, so that Adafactor factors its second moment and Muon
orthogonalizes; every other optimizer is elementwise or per leaf), and timed in interleaved
rounds, a new random order each round; the table gives the medians and our time over optax's
(target: at most 1.05). Writes zoo_step.json and zoo_step.md.

  python -m benchmarks.zoo_step --sizes 1e6,1e7 --rounds 7
"""
import argparse
import json
import os
import platform
from pathlib import Path

import jax
import optax
from optax import contrib

import jaxopt_lab as jl
from benchmarks.optimizer_step import JaxContender, jax_step, time_interleaved

ROWS = 256
PAIRS = {  # name -> (ours, optax's), each with its defaults where both have the same ones
    "nadam": (lambda: jl.nadam(1e-3), lambda: optax.nadam(1e-3)),
    "radam": (lambda: jl.radam(1e-3), lambda: optax.radam(1e-3)),
    "adamax": (lambda: jl.adamax(1e-3), lambda: optax.adamax(1e-3)),
    "adabelief": (lambda: jl.adabelief(1e-3), lambda: optax.adabelief(1e-3)),
    "sign_sgd": (lambda: jl.sign_sgd(1e-3), lambda: optax.sign_sgd(1e-3)),
    "lion": (lambda: jl.lion(1e-4, weight_decay=1e-3),
             lambda: optax.lion(1e-4, weight_decay=1e-3)),
    "lamb": (lambda: jl.lamb(1e-3, weight_decay=1e-2),
             lambda: optax.lamb(1e-3, weight_decay=1e-2)),
    "lars": (lambda: jl.lars(0.1, weight_decay=1e-4), lambda: optax.lars(0.1, 1e-4)),
    "adafactor": (lambda: jl.adafactor(1e-2), lambda: optax.adafactor(1e-2)),
    "adadelta": (lambda: jl.adadelta(1.0), lambda: optax.adadelta(1.0)),
    "rprop": (lambda: jl.rprop(1e-2), lambda: optax.rprop(1e-2)),
    "muon": (lambda: jl.muon(0.02), lambda: contrib.muon(0.02)),
    "schedule_free_adamw": (lambda: jl.schedule_free_adamw(2.5e-3),
                            lambda: contrib.schedule_free_adamw(2.5e-3)),
}


def field(n: int) -> dict:
  shape = (ROWS, n // ROWS)
  out = {}
  for name, (ours, theirs) in PAIRS.items():
    for who, make in (("ours", ours), ("optax", theirs)):
      optimizer = make()
      out[name, who] = JaxContender(jax_step(optimizer), optimizer.init, n, shape=shape)
      out[name, who].grads = out[name, who].grads.reshape(shape)
  return out


def measure(n: int, rounds: int, steps: int) -> dict:
  return time_interleaved(field(n), rounds, steps)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="1e6,1e7")
  parser.add_argument("--rounds", type=int, default=7)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  sizes = [max(1, round(float(s) / ROWS)) * ROWS for s in args.sizes.split(",")]
  results = []
  for n in sizes:
    seconds = measure(n, args.rounds, args.steps)
    for name in PAIRS:
      ours, theirs = seconds[name, "ours"], seconds[name, "optax"]
      results.append({"parameters": n, "optimizer": name, "ours_ms": 1e3 * ours,
                      "optax_ms": 1e3 * theirs, "ratio": ours / theirs})
  args.out.mkdir(parents=True, exist_ok=True)
  device = f"{jax.devices()[0].device_kind} ({platform.processor() or platform.machine()}, " \
           f"{os.cpu_count()} cores)"
  (args.out / "zoo_step.json").write_text(json.dumps(
      {"device": device, "rounds": args.rounds, "steps": args.steps, "results": results},
      indent=2))
  lines = [f"Zoo steps vs optax, float32 [{ROWS}, n / {ROWS}], {device}; median of "
           f"{args.rounds} interleaved rounds of {args.steps} steps", "",
           "| parameters | optimizer | ours ms/step | optax ms/step | ours / optax |",
           "|---:|---|---:|---:|---:|"]
  for r in results:
    lines.append(f"| {r['parameters']:.0e} | {r['optimizer']} | {r['ours_ms']:.2f} | "
                 f"{r['optax_ms']:.2f} | {r['ratio']:.2f} |")
  table = "\n".join(lines)
  (args.out / "zoo_step.md").write_text(table + "\n")
  print(table)


if __name__ == "__main__":
  main()
