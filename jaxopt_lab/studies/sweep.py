"""`jaxopt-lab sweep`: vmapped hyperparameter sweeps with their tables, reports and figures.

  jaxopt-lab sweep --optimizer adam --param learning_rate=log:1e-4:1e-1:32 \\
      --param b1=0.8,0.9,0.99 --seeds 3 --dataset digits --steps 500 --out results/adam-digits

Writes results.csv (+ results.parquet when pyarrow is installed), curves.npz, report.md,
objective_vs_each.png, isolation.png, pairs.png (two or more swept names) and top_curves.png
under --out, and task.json (the task, its objective and evaluation steps: what `jaxopt-lab
diagnose RUN_DIR` reads with the table and curves); report.md checks the winner (at the edge
of a range? distinguishable from the runner-up?) and ends with the training diagnosis of the
top and bottom configurations. Finished chunks are kept under --out/round-*/chunks (and the
winner's-curse re-runs under --out/rerun-*), so the same command after an interruption
resumes, saying how many runs it loaded; once every run is loaded and finished.json records
the files written, a rerun redoes nothing. The sweep runs on one host device per core
(--cpu-devices) with JAX's persistent compilation cache (`jaxopt_lab.sweeps.host`). With
several optimizers (`--optimizer sgd,momentum,adam`) each gets its own compiled sweep and
subfolder, every --param applies to the optimizers that take it, and summary.md,
summary.csv and comparison.png compare the chosen configurations.
"""
import argparse
import contextlib
import json
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from jaxopt_lab._validation import did_you_mean
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.train.models import ACTIVATIONS
from jaxopt_lab.studies import KAPPA_MAX, check_option, names_in
from jaxopt_lab.sweeps import plots as sweep_plots
from jaxopt_lab.sweeps import report as sweep_report
from jaxopt_lab.sweeps import space as search_space
from jaxopt_lab.sweeps import host, store
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import output_folder, save_arrays, save_table, save_text
from jaxopt_lab.sweeps.engine import resumed_message, run_sweep
from jaxopt_lab.sweeps.memory import device_memory
from jaxopt_lab.sweeps.tasks import (
    SCHEDULES, check_space, check_warmup, digits_task, quadratic_task)

MAX_COUNT = 2 ** 31 - 1
DESCRIPTION = "A vmapped hyperparameter sweep: table, report, figures; resumable."
MAIN_CURVES = ("train_loss", "val_loss", "val_accuracy", "distance")
"""The curves top_curves.png draws (the run statistics stay in curves.npz and the report)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--optimizer", "--optimizers", dest="optimizer", default="adam",
                      metavar="NAMES",
                      help=f"one optimizer or several, comma-separated, each swept on its own "
                           f"and compared: {', '.join(BY_NAME)}")
  parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                      help="a swept hyperparameter (repeatable): grids a,b,c | "
                           "loggrid:low:high:n | grid:low:high:n, or n random draws "
                           "log:low:high:n | uniform:low:high:n (default: "
                           "learning_rate=log:1e-4:1e-1:8)")
  parser.add_argument("--seeds", type=int, default=1,
                      help="seeds per configuration: the spread the report and the figures' "
                           "error bars show")
  parser.add_argument("--dataset", default="digits", choices=["digits", "quadratic"],
                      help="digits: an MLP on sklearn's 8x8 digits, chosen by validation "
                           "accuracy; quadratic: full-batch steps on a quadratic, chosen by "
                           "final loss")
  parser.add_argument("--steps", type=int, default=500, help="training steps of each run")
  parser.add_argument("--batch-size", type=int, default=64, help="digits: examples per step")
  parser.add_argument("--eval-every", type=int, default=25,
                      help="digits: steps between validation evaluations")
  parser.add_argument("--widths", default="64",
                      help="digits: hidden layer sizes, comma-separated, e.g. 128,64")
  parser.add_argument("--activation", default="relu", choices=list(ACTIVATIONS),
                      help="digits: the hidden layers' nonlinearity")
  parser.add_argument("--schedule", default="constant", choices=list(SCHEDULES),
                      help="digits: the learning-rate schedule; its own hyperparameters "
                           "(e.g. warmup_steps, eta_min) can be swept with --param")
  parser.add_argument("--condition-number", type=float, default=100.0,
                      help="quadratic: lambda_max / lambda_min (eigenvalues in [1/kappa, 1])")
  parser.add_argument("--refine", type=int, default=0,
                      help="coarse-to-fine rounds around the best configuration")
  parser.add_argument("--top-k", type=int, default=5,
                      help="the best configurations re-run on fresh seeds (winner's curse)")
  parser.add_argument("--fresh-seeds", type=int, default=3,
                      help="fresh seeds (never used in the sweep) for that re-run and the test")
  parser.add_argument("--chunk-size", type=int, default=None,
                      help="configurations per compiled call (default: the most --memory-gb "
                           "holds; a resumed sweep keeps its folder's)")
  parser.add_argument("--memory-gb", type=float, default=4.0,
                      help="device memory, in GiB, one chunk of runs may use")
  parser.add_argument("--sample-seed", type=int, default=0, help="seed of the random draws")
  parser.add_argument("--distributed", action="store_true",
                      help="call jax.distributed.initialize() first (multi-host)")
  parser.add_argument("--cpu-devices", type=int, default=None,
                      help="host devices the sweep is sharded over on a CPU (default: one "
                           "per core)")


def check_options(args) -> None:
  positive = {"--steps": args.steps, "--batch-size": args.batch_size,
              "--eval-every": args.eval_every, "--seeds": args.seeds,
              "--fresh-seeds": args.fresh_seeds, "--top-k": args.top_k}
  for flag, value in positive.items():
    if not 1 <= value <= MAX_COUNT:
      raise ValueError(f"{flag} must be a positive integer up to {MAX_COUNT}, got {value}")
  if args.chunk_size is not None and args.chunk_size < 1:
    raise ValueError(f"--chunk-size must be a positive integer, got {args.chunk_size}")
  if not 0 <= args.sample_seed < 2 ** 32:
    raise ValueError(f"--sample-seed must be in [0, 4294967295], got {args.sample_seed}")
  check_option("--refine", args.refine, 0, 100)
  check_option("--seeds", args.seeds, 1, 10000)
  check_option("--fresh-seeds", args.fresh_seeds, 1, 10000)
  check_option("--condition-number", args.condition_number, 1.0, KAPPA_MAX,
               " (1 / kappa is a float32 eigenvalue)")
  memory = device_memory() or float("inf")
  if not 0 < args.memory_gb * (1 << 30) <= memory:
    raise ValueError(f"--memory-gb must be positive and at most this device's memory "
                     f"({memory / (1 << 30):.3g}), got {args.memory_gb:g}")


def build_task(args, optimizer: str):
  if args.dataset == "quadratic":
    eigenvalues = np.geomspace(1 / args.condition_number, 1.0, 20)
    return quadratic_task(optimizer, eigenvalues, steps=args.steps)
  try:
    widths = tuple(int(w) for w in args.widths.split(",") if w.strip())
  except ValueError:
    raise ValueError(f"--widths {args.widths!r}: expected integers like 128,64") from None
  if any(w < 1 for w in widths):
    raise ValueError(f"--widths {args.widths!r}: widths must be positive")
  return digits_task(optimizer, widths=widths, activation=args.activation,
                     steps=args.steps, batch_size=args.batch_size, eval_every=args.eval_every,
                     schedule=args.schedule)


def main(args: argparse.Namespace) -> list[Path]:
  if args.cpu_devices is not None:
    check_option("--cpu-devices", args.cpu_devices, 1, 4096)
  if args.distributed:  # before JAX starts, as the two settings below
    jax.distributed.initialize()
  host.use_every_core(args.cpu_devices)
  host.use_compilation_cache()
  check_options(args)
  if args.quick:
    args.steps, args.eval_every = min(args.steps, 60), min(args.eval_every, 20)
  optimizers = names_in("--optimizer", args.optimizer, BY_NAME)
  space = search_space.parse_space(args.param or ["learning_rate=log:1e-4:1e-1:8"])
  tasks = {name: build_task(args, name) for name in optimizers}
  unused = [n for n in space if not any(n in t.hyperparameters for t in tasks.values())]
  if unused:
    accepted = sorted({h for t in tasks.values() for h in t.hyperparameters})
    raise ValueError(f"--param {unused[0]}: not a hyperparameter of "
                     f"{' or '.join(t.name for t in tasks.values())}"
                     f"{did_you_mean(unused[0], accepted)}; choose from {', '.join(accepted)}")
  spaces = {name: {n: a for n, a in space.items() if n in task.hyperparameters}
            for name, task in tasks.items()}
  for name, task in tasks.items():  # every bad value is reported before anything runs
    columns = search_space.configurations(spaces[name], seed=args.sample_seed)
    check_space(task, columns, name)
    if args.dataset == "digits" and args.schedule == "warmup_cosine":
      warmup = np.max(columns.get("warmup_steps", SCHEDULES["warmup_cosine"]["warmup_steps"]))
      check_warmup(warmup, args.steps, f"--schedule warmup_cosine --steps {args.steps}")
  out = output_folder("--out", args.out)
  written, chosen = [], []
  with store.locked(out, "--out") if jax.process_index() == 0 else contextlib.nullcontext():
    for name, task in tasks.items():
      folder = out if len(tasks) == 1 else out / name
      files, verdict = sweep_task(task, name, spaces[name], args, folder)
      written += files
      chosen.append(verdict)
    if len(tasks) > 1:
      written += compare(chosen, tasks, out)
  return written


def sweep_task(task, optimizer: str, space: dict, args, out: Path):
  """Every round of one task's sweep, its winner's curse and test; writes its files."""
  names = list(space)
  options = dict(chunk_size=args.chunk_size, memory_budget=int(args.memory_gb * (1 << 30)),
                 progress=not args.quick)
  seeds = list(range(args.seeds))
  tables, curves, began, recomputed = [], [], time.perf_counter(), False
  for round_ in range(args.refine + 1):
    if round_:
      board = sweep_report.leaderboard(pd.concat(tables, ignore_index=True), names,
                                       task.objective)
      space = search_space.refine(space, {name: board.iloc[0][name] for name in names})
    columns = search_space.configurations(space, seed=args.sample_seed + round_)
    if round_:  # round 0 was checked before anything ran; refined draws are new values
      check_space(task, columns, optimizer)
    print(f"{optimizer} round {round_}: {len(seeds) * len(next(iter(columns.values())))} runs "
          f"of {task.name} ({', '.join(f'{k}={a.describe()}' for k, a in space.items())})")
    result = run_sweep(task.run, columns, seeds, out=out / f"round-{round_}",
                       description=f"{task.name} {sorted(space)}", objective=task.objective,
                       **options)
    if result.runs_loaded and not options["progress"]:  # the progress bar says it otherwise
      print(resumed_message(result.runs_loaded, len(result.table)))
    recomputed = recomputed or result.chunks_computed > 0
    table = result.table.assign(round=round_)
    table["config"] += sum(len(t) for t in tables) // len(seeds)
    tables.append(table)
    curves.append(result.curves)
  seconds = time.perf_counter() - began
  table = pd.concat(tables, ignore_index=True)
  curves = {k: np.concatenate([c[k] for c in curves]) for k in curves[0]}
  board = sweep_report.leaderboard(table, names, task.objective)
  chosen = board.iloc[0]
  rows = table.index[table.config == chosen.config]
  record = None if recomputed else finished(out, args)
  if record is not None:
    print(f"{optimizer}: every run was loaded; its re-runs, report and figures in {out} are "
          f"up to date")
    return [out / name for name in record["written"]], sweep_report.Chosen(
        record["summary"], {k: np.nanmean(v[rows], axis=0) for k, v in curves.items()}, board)
  fresh = list(range(1000, 1000 + args.fresh_seeds))
  print(f"{optimizer}: re-running the top {args.top_k} on fresh seeds {fresh}")
  curse = sweep_report.winners_curse(task.run, board, names, task.objective, args.top_k,
                                     fresh, out=out / f"rerun-top{args.top_k}-seeds"
                                     f"{args.fresh_seeds}", **options)
  test = task.test({n: float(chosen[n]) for n in names}, fresh) if task.test else None
  facts = {"task": task.name, "optimizer": optimizer, "swept": ", ".join(names),
           "runs": f"{len(table)} ({table.config.nunique()} configurations x {len(seeds)} "
                   f"seeds, {args.refine + 1} round(s))",
           "wall time": f"{seconds:.1f} s including compilation "
                        f"({len(table) / seconds:.1f} runs/s)",
           "devices": f"{len(jax.devices())} x {jax.devices()[0].device_kind}",
           "seeds": "common random numbers: at each seed every configuration gets the same "
                    "key (the same initialisation, minibatch order and noise), so differences "
                    "between configurations are paired"}
  diagnosis = None
  if task.eval_steps is not None and "val_loss" in curves:
    diagnosis = sweep_report.diagnose_configurations(table, curves, board, names,
                                                     task.eval_steps)
  figures = {"the objective against each hyperparameter": "objective_vs_each.png",
             "isolation plots: the best objective at each value": "isolation.png",
             "pairs of hyperparameters": "pairs.png", "curves of the top configurations":
             "top_curves.png"}
  if len(names) < 2:
    del figures["pairs of hyperparameters"]
  report = sweep_report.markdown_report(f"Sweep: {task.name}", board, task.objective,
                                        curse=curse, test=test, facts=facts,
                                        diagnosis=diagnosis, hyperparameters=names,
                                        figures=figures)
  record = {"task": task.name, "optimizer": optimizer, "hyperparameters": names,
            "objective": task.objective._asdict(), "rows": len(table),
            "eval_steps": None if task.eval_steps is None else task.eval_steps.tolist()}
  written = [save_table(table, out / "results.csv"), save_text(report, out / "report.md"),
             save_arrays(curves, out / "curves.npz"),
             save_text(json.dumps(record, indent=2), out / "task.json"),
             save_figure(sweep_plots.objective_vs_each(board, names, task.objective),
                         out / "objective_vs_each.png"),
             save_figure(sweep_plots.isolation(board, names, task.objective),
                         out / "isolation.png"),
             save_figure(sweep_plots.top_curves(board, names, task.objective,
                                                {k: v for k, v in curves.items()
                                                 if k in MAIN_CURVES}, table,
                                                eval_steps=task.eval_steps),
                         out / "top_curves.png")]
  if len(names) > 1:  # heatmaps for pairs searched on grids, scatters for random draws
    written.append(save_figure(sweep_plots.pair_maps(board, names, task.objective),
                               out / "pairs.png"))
  try:
    table.to_parquet(out / "results.parquet")
    written.append(out / "results.parquet")
  except ImportError:
    pass
  print(f"{optimizer} chosen: {', '.join(f'{n}={chosen[n]:.4g}' for n in names)} "
        f"({task.objective.column} {chosen['mean']:.4f})")
  summary = {"optimizer": optimizer, **{n: chosen[n] for n in names},
             "sweep_mean": chosen["mean"], "sweep_std": chosen["std"],
             "fresh_mean": curse.iloc[0].fresh_mean, "fresh_std": curse.iloc[0].fresh_std,
             "configurations": len(board),
             "diverged": int((board.diverged > 0).sum()), "seconds": seconds,
             **{k: v for k, v in (test or {}).items() if isinstance(v, float)}}
  mark_finished(out, args, written, summary)
  return written, sweep_report.Chosen(
      summary, {k: np.nanmean(v[rows], axis=0) for k, v in curves.items()}, board)


def compare(chosen: list[sweep_report.Chosen], tasks: dict, out: Path) -> list[Path]:
  """summary.csv/.md and comparison.png: each optimizer's chosen configuration side by side."""
  objective = next(iter(tasks.values())).objective
  frame = pd.DataFrame([verdict.summary for verdict in chosen])
  swept = [c for c in frame.columns if any(c in task.hyperparameters for task in tasks.values())]
  frame = frame[["optimizer", *swept, *(c for c in frame.columns
                                        if c not in swept and c != "optimizer")]]
  frame = frame.sort_values("fresh_mean", ascending=not objective.maximize, kind="stable")
  text = (f"# Optimizers compared, each at its best configuration\n\n"
          f"Chosen by {objective.describe()} on the sweep's seeds; `fresh_mean` is the same "
          f"configuration re-run on fresh seeds (the honest score); test metrics are "
          f"evaluated once, for the chosen configuration only.\n\n"
          f"{sweep_report.markdown_table(frame)}\n")
  figure = sweep_plots.optimizer_comparison(chosen, objective,
                                            next(iter(tasks.values())).eval_steps)
  return [save_table(frame, out / "summary.csv"), save_text(text, out / "summary.md"),
          save_figure(figure, out / "comparison.png")]


FINISHED = "finished.json"
"""Written last by `sweep_task`: the files it wrote and its summary, for the sweep's rounds
(their fingerprints) and its re-run options; a rerun that loads every run reuses them."""


def _finish_key(out: Path, args) -> dict:
  rounds = sorted(out.glob("round-*/sweep.json"))
  return {"rounds": [json.loads(path.read_text()).get("fingerprint") for path in rounds],
          "top_k": args.top_k, "fresh_seeds": args.fresh_seeds}


def finished(out: Path, args):
  """The record of this very sweep's finished re-runs, report and figures in `out` (every file
  still there), or None: then they are made again. Single-process only (on several hosts every
  process must run the re-runs alike)."""
  if jax.process_count() > 1:
    return None
  try:
    record = json.loads((out / FINISHED).read_text())
    if record["key"] == _finish_key(out, args) and all((out / name).is_file()
                                                       for name in record["written"]):
      return record
  except (OSError, ValueError, KeyError, TypeError):
    pass
  return None


def mark_finished(out: Path, args, written: list, summary: dict) -> None:
  if jax.process_index() == 0:
    record = {"key": _finish_key(out, args),
              "written": [str(Path(p).relative_to(out)) for p in written],
              "summary": summary}
    save_text(json.dumps(record, indent=2, default=lambda v: v.item()), out / FINISHED)
