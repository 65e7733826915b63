"""K Adam runs of a digits MLP: `run_sweep` against the same sweep written by hand with optax.

Contenders, each training the same K learning rates (geomspace(1e-4, 1e-1, K)) of a 64-W-10
MLP from seed 0 with `optax.inject_hyperparams(optax.adam)`, through the same training loop
(`jaxopt_lab.train.train`: the same initialisation, shuffles, batches and evaluations):
  hand-written   jax.jit(jax.vmap(train_one))(learning_rates, keys): one key per lane, as a
                 researcher writes it, on the default device, no compilation cache
  run_sweep      jaxopt_lab.sweeps.run_sweep, set up as `jaxopt-lab sweep` sets it up: one host
                 device per core (--cpu-devices) and the persistent compilation cache
  one device     the same on one host device: the common-random-numbers layout and the
                 engine's own costs without the cores (on a GPU host: the same as run_sweep)
Each measurement runs in a fresh process (so that the first call is a true first call:
tracing, compilation and the run), in interleaved rounds (every round visits every K and
both contenders in a shuffled order); the table gives medians over rounds. `first` is the
first call's wall time (for run_sweep: round 0 with an empty compilation cache, the later
rounds with the cache the earlier ones filled: "cold" and "warm"), `steady` the median of
--repeats later calls. The numbers must agree: the largest relative difference of the final
validation losses is reported, never assumed, at the learning rates where Adam trains stably
here (<= 1e-2; above, runs blow up and rounding differences grow chaotically, so the table
also counts the runs more than 1e-3 apart). Writes sweep.json and sweep.md under --out.

  python -m benchmarks.sweep --sizes 1,16,64,256,1024          # the issue's sizes (minutes)
  python -m benchmarks.sweep --sizes 1,16 --rounds 2           # a quick look

Runs unchanged on a GPU (--cpu-devices only shapes the CPU platform).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import machine, write_results

CONTENDERS = ("hand-written", "run_sweep", "one device")
STABLE = 1e-2   # Adam's learning rates up to which these runs train stably: above, the runs
                # blow up and rounding differences grow chaotically (e.g. 9.6 against 13.8)


def learning_rates(k: int) -> np.ndarray:
  return np.geomspace(1e-4, 1e-1, k)


def worker(args) -> dict:
  """One contender's first call and steady calls at one K, in this fresh process."""
  import jax
  if args.worker != "hand-written":   # what `jaxopt-lab sweep` does before jax starts
    from jaxopt_lab.sweeps.host import use_compilation_cache, use_every_core
    use_every_core(args.cpu_devices if args.worker == "run_sweep" else 1)
    use_compilation_cache(args.cache)
  import jax.numpy as jnp
  import optax
  from jaxopt_lab.sweeps.engine import run_sweep
  from jaxopt_lab.sweeps.tasks import digits_training
  from jaxopt_lab.train.data import digits
  from jaxopt_lab.train.loop import run_curves, train
  from jaxopt_lab.train.models import MLP

  rates = learning_rates(args.k)
  options = dict(steps=args.steps, batch_size=args.batch_size, eval_every=args.eval_every)
  if args.worker == "hand-written":
    data = digits(0)
    make_model = lambda rngs: MLP(64, (args.width,), 10, "relu", rngs=rngs)

    def train_one(learning_rate, key):
      optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)
      return run_curves(train(make_model, optimizer, data, key, **options))

    sweep = jax.jit(jax.vmap(train_one))
    keys = jax.vmap(jax.random.key)(jnp.zeros(args.k, jnp.uint32))
    call = lambda: np.asarray(sweep(jnp.asarray(rates, jnp.float32), keys)["val_loss"][:, -1])
  else:
    build = lambda h: (optax.inject_hyperparams(optax.adam)(learning_rate=h["learning_rate"]),
                       None)
    task = digits_training(build, hyperparameters=("learning_rate",), widths=(args.width,),
                           **options)
    call = lambda: run_sweep(task.run, {"learning_rate": rates}, seeds=[0],
                             objective=task.objective, progress=False
                             ).table.final_val_loss.to_numpy()
  began = time.perf_counter()
  losses = call()
  first = time.perf_counter() - began
  steady = []
  for _ in range(args.repeats):
    began = time.perf_counter()
    call()
    steady.append(time.perf_counter() - began)
  return {"first_s": first, "steady_s": float(np.median(steady)),
          "final_val_loss": [float(v) for v in losses], "devices": len(jax.devices()),
          "device": jax.devices()[0].device_kind}


def measure(contender: str, k: int, args, cache: Path) -> dict:
  command = [sys.executable, "-m", "benchmarks.sweep", "--worker", contender, "--k", str(k),
             "--cache", str(cache), *forwarded(args)]
  root = Path(__file__).resolve().parents[1]
  environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [str(root), os.environ.get("PYTHONPATH", "")]))
  done = subprocess.run(command, capture_output=True, text=True, cwd=root, env=environment)
  if done.returncode:
    raise SystemExit(f"benchmarks.sweep: the {contender} worker at K={k} failed:\n"
                     f"{done.stderr[-2000:]}")
  return json.loads(done.stdout.strip().splitlines()[-1])


def forwarded(args) -> list:
  return ["--steps", str(args.steps), "--batch-size", str(args.batch_size), "--eval-every",
          str(args.eval_every), "--width", str(args.width), "--repeats", str(args.repeats),
          "--cpu-devices", str(args.cpu_devices)]


def summary(k: int, runs: dict) -> dict:
  """Medians over rounds, and the ratios run_sweep / hand-written (below 1: run_sweep faster)."""
  hand, ours, one = runs["hand-written"], runs["run_sweep"], runs["one device"]
  median = lambda rows, key: float(np.median([r[key] for r in rows]))
  warm = ours[1:] or ours
  row = {"K": k, "hand_first_s": median(hand, "first_s"), "hand_steady_s": median(hand, "steady_s"),
         "sweep_first_cold_s": ours[0]["first_s"], "sweep_first_warm_s": median(warm, "first_s"),
         "sweep_steady_s": median(ours, "steady_s"), "sweep_devices": ours[0]["devices"],
         "one_device_steady_s": median(one, "steady_s")}
  row["one_device_steady_ratio"] = row["one_device_steady_s"] / row["hand_steady_s"]
  row["first_ratio_cold"] = row["sweep_first_cold_s"] / row["hand_first_s"]
  row["first_ratio_warm"] = row["sweep_first_warm_s"] / row["hand_first_s"]
  row["steady_ratio"] = row["sweep_steady_s"] / row["hand_steady_s"]
  row["sweep_runs_per_s"] = k / row["sweep_steady_s"]
  a, stable = np.array(hand[0]["final_val_loss"]), learning_rates(k) <= STABLE
  differences = [np.abs(a - np.array(r[0]["final_val_loss"])) / np.abs(a) for r in (ours, one)]
  row["max_relative_difference"] = max(float(np.max(d[stable], initial=0.0)) for d in differences)
  row["lanes_apart"] = max(int(np.sum(d > 1e-3)) for d in differences)
  return row


def markdown(rows: list, header: str) -> str:
  lines = [header, "", "| K | hand-written first s | steady s | run_sweep first s cold / warm "
           "| steady s | first ratio cold / warm | steady ratio | one device: steady ratio "
           "| runs/s | max rel. diff (lr <= 1e-2) | runs > 1e-3 apart |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
  for r in rows:
    lines.append(f"| {r['K']} | {r['hand_first_s']:.2f} | {r['hand_steady_s']:.3f} | "
                 f"{r['sweep_first_cold_s']:.2f} / {r['sweep_first_warm_s']:.2f} | "
                 f"{r['sweep_steady_s']:.3f} | {r['first_ratio_cold']:.2f} / "
                 f"{r['first_ratio_warm']:.2f} | {r['steady_ratio']:.2f} | "
                 f"{r['one_device_steady_ratio']:.2f} | "
                 f"{r['sweep_runs_per_s']:.0f} | {r['max_relative_difference']:.1e} | "
                 f"{r['lanes_apart']} of {r['K']} |")
  return "\n".join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="1,16,64,256,1024", help="numbers of configurations K")
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--batch-size", type=int, default=32)
  parser.add_argument("--eval-every", type=int, default=50)
  parser.add_argument("--width", type=int, default=64, help="the hidden layer's width W")
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=3, help="steady calls per measurement")
  parser.add_argument("--cpu-devices", type=int, default=os.cpu_count() or 1,
                      help="host devices run_sweep shards over on a CPU (default: the cores)")
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
  parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.worker:
    print(json.dumps(worker(args)))
    return
  if args.rounds < 1 or args.repeats < 1:
    parser.error("--rounds and --repeats must be at least 1")
  sizes = [int(s) for s in args.sizes.split(",")]
  order = random.Random(0)
  runs = {k: {c: [] for c in CONTENDERS} for k in sizes}
  with tempfile.TemporaryDirectory(prefix="jaxopt-lab-xla-cache-") as cache:
    for round_ in range(args.rounds):
      visits = [(k, c) for k in sizes for c in CONTENDERS]
      order.shuffle(visits)
      for k, contender in visits:
        result = measure(contender, k, args, Path(cache))
        runs[k][contender].append(result)
        print(f"round {round_} K={k} {contender}: first {result['first_s']:.2f} s, "
              f"steady {result['steady_s']:.3f} s", flush=True)
  rows = [summary(k, runs[k]) for k in sizes]
  device = runs[sizes[0]]["run_sweep"][0]["device"]
  host = machine(device)
  header = (f"K Adam runs of a 64-{args.width}-10 MLP on digits, {args.steps} steps of batch "
            f"{args.batch_size}, validation every {args.eval_every}, on {host}; medians of "
            f"{args.rounds} interleaved rounds, each measurement in a fresh process; run_sweep "
            f"on up to {rows[0]['sweep_devices']} device(s) (one per configuration at most). "
            f"Ratios are run_sweep / hand-written "
            f"(below 1: run_sweep is faster).")
  write_results(args.out, "sweep", {
      "machine": host, "options": {k: v for k, v in vars(args).items()
                                   if k not in ("out", "worker", "k", "cache")},
      "results": rows, "raw": {str(k): v for k, v in runs.items()}}, markdown(rows, header))


if __name__ == "__main__":
  main()
