"""Each zoo optimizer's step against its optax counterpart, as ratios within one run.

Both contenders of a pair are jitted with donated parameters and state, run on the same
float32 matrix [256, n / 256] (a matrix, so that Adafactor factors its second moment and Muon
orthogonalizes; every other optimizer is elementwise or per leaf), and timed in interleaved
rounds, a new random order each round, in several fields (every buffer allocated anew); the
table gives the medians and our time over optax's (target: at most 1.05), in wall time and in
the time of XLA's kernels from a profile (the program's own work, without dispatch), and the
bytes the compiled step moves through memory (counted from its HLO: free of noise). Writes
zoo_step.json and zoo_step.md.

  python -m benchmarks.zoo_step --sizes 1e6,1e7 --rounds 5 --fields 3
"""
import argparse
import gzip
import json
import re
import tempfile
from pathlib import Path

import jax
import numpy as np
import optax
from optax import contrib

import jaxopt_lab as jl
from benchmarks import machine, write_results
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


INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%(\S+) = (\w+)\[([\d,]*)\]\S* (\w[\w-]*)\((.*?)\)")
ITEM_BYTES = {"f64": 8, "s64": 8, "f32": 4, "s32": 4, "u32": 4, "bf16": 2, "f16": 2, "s8": 1,
              "u8": 1, "pred": 1}


def bytes_moved(optimizer, n: int) -> int:
  """Bytes a compiled step reads and writes in arrays of at least n / 2 elements, counted
  from its optimized HLO (every fusion, copy or other instruction of the entry computation:
  its large operands and its large result): the memory traffic XLA planned, free of noise."""
  params = jax.numpy.zeros((ROWS, n // ROWS))
  text = jax_step(optimizer).lower(params, optimizer.init(params), params).compile().as_text()
  entry = text[text.index("\nENTRY"):].split("\n}")[0]
  sizes, moved = {}, 0
  for line in entry.splitlines():
    found = INSTRUCTION.match(line)
    if not found:
      continue
    name, dtype, dims, op, operands = found.groups()
    count = int(np.prod([int(d) for d in dims.split(",") if d]))
    sizes[name] = ITEM_BYTES.get(dtype, 4) * count if count >= n // 2 else 0
    if op not in ("parameter", "bitcast", "get-tuple-element", "tuple", "constant"):
      moved += sizes[name] + sum(sizes.get(o, 0) for o in re.findall(r"%([\w.-]+)", operands))
  return moved


def kernel_seconds(contender, steps: int) -> float:
  """Seconds per step that XLA's compiled kernels (the events with an `hlo_op`) take in a
  profile of `steps` steps: the program's own work, without dispatch."""
  with tempfile.TemporaryDirectory() as folder:
    jax.profiler.start_trace(folder)
    contender.run(steps)
    jax.profiler.stop_trace()
    trace, = Path(folder).glob("**/*.trace.json.gz")
    events = json.loads(gzip.decompress(trace.read_bytes()))["traceEvents"]
  kernels = [e["dur"] for e in events if e.get("ph") == "X" and "hlo_op" in e.get("args", {})]
  return 1e-6 * sum(kernels) / steps


def measure(n: int, rounds: int, steps: int, fields: int) -> tuple:
  """Median seconds per step of every contender, and the median over `fields` of our time
  over optax's. Each field allocates every buffer anew: with one field, the median ratio of
  one pair at 1M parameters moved from 0.92 to 1.48 between runs of this benchmark (Adamax,
  whose program moves the same bytes as optax's)."""
  runs, kernels = [], []
  for _ in range(fields):
    contenders = field(n)
    runs.append(time_interleaved(contenders, rounds, steps))
    kernels.append({key: kernel_seconds(c, steps) for key, c in contenders.items()})
  median = lambda values: float(np.median(values))
  seconds = {key: median([run[key] for run in runs]) for key in runs[0]}
  ratios = {name: median([run[name, "ours"] / run[name, "optax"] for run in runs])
            for name in PAIRS}
  kernel_ratios = {name: median([k[name, "ours"] / k[name, "optax"] for k in kernels])
                   for name in PAIRS}
  return seconds, ratios, kernel_ratios


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="1e6,1e7")
  parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per field")
  parser.add_argument("--fields", type=int, default=3,
                      help="times every buffer is allocated anew (the ratio is their median)")
  parser.add_argument("--steps", type=int, default=None,
                      help="steps per contender and round (default: 5e7 / parameters, at "
                           "least 5: about 50 ms a measurement, above the timer's noise)")
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  sizes = [max(1, round(float(s) / ROWS)) * ROWS for s in args.sizes.split(",")]
  results = []
  for n in sizes:
    steps = args.steps or max(5, round(5e7 / n))
    seconds, ratios, kernel_ratios = measure(n, args.rounds, steps, args.fields)
    for name, (ours, theirs) in PAIRS.items():
      results.append({"parameters": n, "steps": steps, "optimizer": name,
                      "bytes_ratio": bytes_moved(ours(), n) / bytes_moved(theirs(), n),
                      "ours_ms": 1e3 * seconds[name, "ours"],
                      "optax_ms": 1e3 * seconds[name, "optax"], "ratio": ratios[name],
                      "kernel_ratio": kernel_ratios[name]})
  device = machine(jax.devices()[0].device_kind)
  lines = [f"Zoo steps vs optax, float32 [{ROWS}, n / {ROWS}], {device}; medians over "
           f"{args.fields} fields (every buffer allocated anew) of {args.rounds} interleaved "
           f"rounds of `steps` steps each", "",
           "| parameters | steps | optimizer | ours ms/step | optax ms/step | ours / optax "
           "| XLA kernels: ours / optax | bytes moved: ours / optax |",
           "|---:|---:|---|---:|---:|---:|---:|---:|"]
  for r in results:
    lines.append(f"| {r['parameters']:.0e} | {r['steps']} | {r['optimizer']} | "
                 f"{r['ours_ms']:.2f} | {r['optax_ms']:.2f} | {r['ratio']:.2f} | "
                 f"{r['kernel_ratio']:.2f} | {r['bytes_ratio']:.2f} |")
  write_results(args.out, "zoo_step", {"device": device, "rounds": args.rounds,
                                        "fields": args.fields, "results": results},
                "\n".join(lines))


if __name__ == "__main__":
  main()
