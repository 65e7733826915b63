"""`jaxopt-lab sweep`: vmapped hyperparameter sweeps with their tables, reports and figures.

  jaxopt-lab sweep --optimizer adam --param learning_rate=loguniform:1e-4:1e-1:32 \\
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
summary.csv and comparison.png compare the chosen configurations. `--search quasi-random`
draws the random axes as a scrambled Sobol sequence; `--search tpe` lets Optuna's TPE
propose them in batches of --search-batch, each batch one compiled sweep (see
`jaxopt_lab.sweeps.search`).
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
from jaxopt_lab.studies._finished import finished_record, mark_finished
from jaxopt_lab.studies._static_axes import STATIC, check_halving, static_axes
from jaxopt_lab.sweeps import plots as sweep_plots
from jaxopt_lab.sweeps import report as sweep_report
from jaxopt_lab.sweeps import space as search_space
from jaxopt_lab.sweeps import host, store
from jaxopt_lab.sweeps.search import SEARCHES, require_optuna, tpe_search
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import output_folder, save_arrays, save_table, save_text
from jaxopt_lab.sweeps.engine import resumed_message
from jaxopt_lab.sweeps.halving import successive_halving
from jaxopt_lab.sweeps.memory import device_memory
from jaxopt_lab.sweeps.static import (
    StaticSweepResult, combinations, run_static_sweep, static_winners_curse)
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
  parser.add_argument("--param", action="append", default=[], metavar="NAME=AXIS",
                      help="a swept hyperparameter (repeatable): grids a,b,c | "
                           "lingrid:low:high:n | loggrid:low:high:n, or n random draws "
                           "uniform:low:high:n | loguniform:low:high:n | choice:a,b,c:n; the "
                           f"static names {', '.join(STATIC)} take lists (batch_size=32,64, "
                           "widths=64,128x64) and run one compiled program per combination "
                           "(digits) (default: learning_rate=loguniform:1e-4:1e-1:8)")
  parser.add_argument("--search", default="random", choices=SEARCHES,
                      help="how the random axes' n points are chosen: independent draws, a "
                           "scrambled Sobol sequence, or Optuna's TPE in batches (needs "
                           "pip install 'jaxopt_lab[optuna]')")
  parser.add_argument("--search-batch", type=int, default=16,
                      help="--search tpe: configurations per batch (one compiled sweep each)")
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
  parser.add_argument("--halving", type=int, default=None, metavar="ETA",
                      help="successive halving (digits): every configuration runs --min-steps, "
                           "the best 1/ETA continue from their saved state for ETA times as "
                           "many steps, and so on up to --steps; the report counts the "
                           "run-steps spent (not stored: a rerun recomputes)")
  parser.add_argument("--min-steps", type=int, default=None,
                      help="successive halving's first rung, a multiple of --eval-every "
                           "(default: --steps / ETA^2)")
  parser.add_argument("--top-k", type=int, default=5,
                      help="the best configurations re-run on fresh seeds (winner's curse)")
  parser.add_argument("--fresh-seeds", type=int, default=3,
                      help="fresh seeds (never used in the sweep) for that re-run and the test")
  parser.add_argument("--chunk-size", type=int, default=None,
                      help="runs (configurations x seeds) per compiled call, rounded down to "
                           "a multiple of seeds x devices (default: the most --memory-gb holds "
                           "and, on a CPU, the cache; a resumed sweep keeps its folder's)")
  parser.add_argument("--memory-gb", type=float, default=4.0,
                      help="device memory, in GiB, one chunk of runs may use")
  parser.add_argument("--sample-seed", type=int, default=0,
                      help="seed of the random draws (and of TPE's sampler)")
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
  if args.halving is not None:
    check_option("--halving", args.halving, 2, 1000)
  elif args.min_steps is not None:
    raise ValueError(f"--min-steps {args.min_steps}: applies with --halving ETA, which is off")
  check_option("--search-batch", args.search_batch, 1, MAX_COUNT)
  if args.search == "tpe":
    if args.halving is not None:
      raise ValueError(f"--search tpe: proposes whole runs, so it cannot be combined with "
                       f"--halving {args.halving}; choose one")
    require_optuna("--search tpe")
  check_option("--seeds", args.seeds, 1, 10000)
  check_option("--fresh-seeds", args.fresh_seeds, 1, 10000)
  check_option("--condition-number", args.condition_number, 1.0, KAPPA_MAX,
               " (1 / kappa is a float32 eigenvalue)")
  memory = device_memory() or float("inf")
  if not 0 < args.memory_gb * (1 << 30) <= memory:
    raise ValueError(f"--memory-gb must be positive and at most this device's memory "
                     f"({memory / (1 << 30):.3g}), got {args.memory_gb:g}")


def build_task(args, optimizer: str, **static):
  """The task of `args` for `optimizer`, with the static axes' values of one combination."""
  if args.dataset == "quadratic":
    eigenvalues = np.geomspace(1 / args.condition_number, 1.0, 20)
    return quadratic_task(optimizer, eigenvalues, steps=args.steps)
  try:
    widths = tuple(int(w) for w in args.widths.split(",") if w.strip())
  except ValueError:
    raise ValueError(f"--widths {args.widths!r}: expected integers like 128,64") from None
  if any(w < 1 for w in widths):
    raise ValueError(f"--widths {args.widths!r}: widths must be positive")
  widths = static.get("widths", widths)
  if "depth" in static:
    widths = (widths[0],) * static["depth"]
  return digits_task(optimizer, widths=widths, activation=args.activation,
                     steps=args.steps, batch_size=static.get("batch_size", args.batch_size),
                     eval_every=args.eval_every, schedule=static.get("schedule", args.schedule),
                     train_size=static.get("train_size"))


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
  static, numeric = static_axes(args.param, args)
  check_halving(args, static)
  if static and args.search == "tpe":
    raise ValueError(f"--search tpe: runs one compiled program per batch, without static axes, "
                     f"got static axes ({', '.join(static)})")
  space = search_space.parse_space(numeric or ["learning_rate=loguniform:1e-4:1e-1:8"])
  every = {name: [build_task(args, name, **combination) for combination in combinations(static)]
           for name in optimizers}   # every option checked before anything runs
  tasks = {name: every[name][0] for name in optimizers}
  unused = [n for n in space if not any(n in t.hyperparameters for ts in every.values()
                                        for t in ts)]
  if unused:
    accepted = sorted({h for ts in every.values() for t in ts for h in t.hyperparameters})
    raise ValueError(f"--param {unused[0]}: not a hyperparameter of "
                     f"{' or '.join(t.name for t in tasks.values())}"
                     f"{did_you_mean(unused[0], accepted)}; choose from {', '.join(accepted)}")
  spaces = {name: {n: a for n, a in space.items()
                   if any(n in each.hyperparameters for each in every[name])} for name in tasks}
  for name, task in tasks.items():  # every bad value is reported before anything runs
    columns = search_space.configurations(spaces[name], seed=args.sample_seed)
    for each in every[name]:
      check_space(each, {n: v for n, v in columns.items() if n in each.hyperparameters}, name)
    if args.dataset == "digits" and "warmup_cosine" in static.get("schedule", [args.schedule]):
      warmup = np.max(columns.get("warmup_steps", SCHEDULES["warmup_cosine"]["warmup_steps"]))
      check_warmup(warmup, args.steps, f"--schedule warmup_cosine --steps {args.steps}")
  out = output_folder("--out", args.out)
  written, chosen = [], []
  with store.locked(out, "--out") if jax.process_index() == 0 else contextlib.nullcontext():
    for name, task in tasks.items():
      folder = out if len(tasks) == 1 else out / name
      make_task = lambda optimizer=name, **combination: build_task(args, optimizer,
                                                                   **combination)
      files, verdict = sweep_task(task, name, spaces[name], args, folder, make_task, static)
      written += files
      chosen.append(verdict)
    if len(tasks) > 1:
      written += compare(chosen, tasks, out)
  return written


def sweep_task(task, optimizer: str, space: dict, args, out: Path, make_task, static: dict):
  """Every round of one task's sweep (one program per combination of the `static` axes,
  `make_task(**combination)`), its winner's curse and test; writes its files."""
  numeric = list(space)
  names = [*static, *numeric]
  options = dict(chunk_size=args.chunk_size, memory_budget=int(args.memory_gb * (1 << 30)),
                 progress=not args.quick)
  seeds = list(range(args.seeds))
  tables, curves, spent, began = [], [], [], time.perf_counter()
  recomputed = False
  reached_end = (lambda t: t[t.steps == task.steps]) if args.halving else (lambda t: t)
  for round_ in range(args.refine + 1):
    if round_:
      board = sweep_report.leaderboard(reached_end(pd.concat(tables, ignore_index=True)), names,
                                       task.objective)
      space = search_space.refine(space, {name: board.iloc[0][name] for name in numeric})
    columns = search_space.configurations(space, seed=args.sample_seed + round_,
                                          method="random" if args.search == "tpe" else args.search)
    if round_:  # round 0 was checked before anything ran; refined draws are new values
      check_space(task, columns, optimizer)
    static_text = "".join(f" x {name}={','.join(map(str, values))}"
                          for name, values in static.items())
    runs = len(seeds) * len(next(iter(columns.values()))) * len(combinations(static))
    print(f"{optimizer} round {round_}: {runs} runs "
          f"of {task.name} ({', '.join(f'{k}={a.describe()}' for k, a in space.items())})"
          f"{static_text}, {args.search} search")
    if args.search == "tpe":
      tpe = tpe_search(task.run, space, seeds, task.objective, batch_size=args.search_batch,
                       seed=args.sample_seed + round_, out=out / f"round-{round_}",
                       option="--search tpe", **options)
      result = StaticSweepResult(tpe.table, tpe.curves, names, task.objective, [task], [{}],
                                 [tpe])
    elif args.halving:
      halved = successive_halving(task, columns, seeds, eta=args.halving,
                                  min_steps=args.min_steps)
      result = StaticSweepResult(halved.table, halved.curves, names, task.objective, [task],
                                 [{}], [halved])
      spent.append(halved)
    else:
      result = run_static_sweep(make_task, static, columns, seeds,
                                out=out / f"round-{round_}", **options)
    loaded = sum(getattr(part, "runs_loaded", 0) for part in result.results)
    if loaded and not options["progress"]:  # the progress bar says it otherwise
      print(resumed_message(loaded, len(result.table)))
    recomputed = recomputed or any(getattr(part, "chunks_computed", 1) > 0
                                   for part in result.results)
    table = result.table.assign(round=round_)
    table["config"] += sum(len(t) for t in tables) // len(seeds)
    tables.append(table)
    curves.append(result.curves)
  seconds = time.perf_counter() - began
  table = pd.concat(tables, ignore_index=True)
  curves = {k: np.concatenate([c[k] for c in curves]) for k in curves[0]}
  board = sweep_report.leaderboard(reached_end(table), names, task.objective)
  chosen = board.iloc[0]
  rows = table.index[table.config == chosen.config]
  done = None if recomputed else finished_record(out, args)
  if done is not None:
    print(f"{optimizer}: every run was loaded; its re-runs, report and figures in {out} are "
          f"up to date")
    return [out / name for name in done["written"]], sweep_report.Chosen(
        done["summary"], {k: np.nanmean(v[rows], axis=0) for k, v in curves.items()}, board)
  fresh = list(range(1000, 1000 + args.fresh_seeds))
  print(f"{optimizer}: re-running the top {args.top_k} on fresh seeds {fresh}")
  curse = static_winners_curse(result, board, args.top_k, fresh,
                               out=out / f"rerun-top{args.top_k}-seeds{args.fresh_seeds}",
                               **options)
  chosen_task = result.tasks[result.combination_of(chosen)]
  test = chosen_task.test({n: float(chosen[n]) for n in numeric}, fresh) \
      if chosen_task.test else None
  plotted = [n for n in names if pd.api.types.is_numeric_dtype(table[n])]
  facts = {"task": task.name, "optimizer": optimizer, "swept": ", ".join(names),
           "runs": f"{len(table)} ({table.config.nunique()} configurations x {len(seeds)} "
                   f"seeds, {args.refine + 1} round(s))",
           "wall time": f"{seconds:.1f} s including compilation "
                        f"({len(table) / seconds:.1f} runs/s)",
           "devices": f"{len(jax.devices())} x {jax.devices()[0].device_kind}",
           "seeds": "common random numbers: at each seed every configuration gets the same "
                    "key (the same initialisation, minibatch order and noise), so differences "
                    "between configurations are paired"}
  if spent:
    used, full = sum(h.run_steps for h in spent), sum(h.full_run_steps for h in spent)
    rungs = spent[-1].rungs
    facts["successive halving"] = (
        f"eta {args.halving}, rungs of {', '.join(map(str, rungs.steps))} steps for "
        f"{', '.join(map(str, rungs.configurations))} configurations: {used} of {full} "
        f"run-steps ({used / full:.1%} of the full sweep); the board ranks the runs that "
        f"reached {task.steps} steps")
  if static:
    facts["static axes"] = (f"{', '.join(static)}: {len(result.tasks)} compiled programs, "
                            f"one per combination, each vmapped over {', '.join(numeric)}")
  diagnosis = None
  if task.eval_steps is not None and "val_loss" in curves:
    diagnosis = sweep_report.diagnose_configurations(table, curves, board, names,
                                                     task.eval_steps)
  figures = {"the objective against each hyperparameter": "objective_vs_each.png",
             "isolation plots: the best objective at each value": "isolation.png",
             "pairs of hyperparameters": "pairs.png", "curves of the top configurations":
             "top_curves.png"}
  if len(plotted) < 2:
    del figures["pairs of hyperparameters"]
  report = sweep_report.markdown_report(f"Sweep: {task.name}", board, task.objective,
                                        curse=curse, test=test, facts=facts,
                                        diagnosis=diagnosis, hyperparameters=names,
                                        figures=figures)
  record = {"task": task.name, "optimizer": optimizer, "hyperparameters": names,
            "static": list(static),
            "objective": task.objective._asdict(), "rows": len(table),
            "eval_steps": None if task.eval_steps is None else task.eval_steps.tolist()}
  written = [save_table(table, out / "results.csv"), save_text(report, out / "report.md"),
             save_arrays(curves, out / "curves.npz"),
             save_text(json.dumps(record, indent=2), out / "task.json"),
             save_figure(sweep_plots.objective_vs_each(board, plotted, task.objective),
                         out / "objective_vs_each.png"),
             save_figure(sweep_plots.isolation(board, plotted, task.objective),
                         out / "isolation.png"),
             save_figure(sweep_plots.top_curves(board, plotted, task.objective,
                                                {k: v for k, v in curves.items()
                                                 if k in MAIN_CURVES}, table,
                                                eval_steps=task.eval_steps),
                         out / "top_curves.png")]
  if len(plotted) > 1:  # heatmaps for pairs searched on grids, scatters for random draws
    written.append(save_figure(sweep_plots.pair_maps(board, plotted, task.objective),
                               out / "pairs.png"))
  try:
    table.to_parquet(out / "results.parquet")
    written.append(out / "results.parquet")
  except ImportError:
    pass
  print(f"{optimizer} chosen: {', '.join(f'{n}={chosen[n]:.4g}' for n in numeric)}"
        f"{''.join(f', {n}={_shown(chosen[n])}' for n in static)} "
        f"({task.objective.column} {chosen['mean']:.4f})")
  summary = {"optimizer": optimizer, "swept": ", ".join(names), **{n: chosen[n] for n in names},
             "sweep_mean": chosen["mean"], "sweep_std": chosen["std"],
             "fresh_mean": curse.iloc[0].fresh_mean, "fresh_std": curse.iloc[0].fresh_std,
             "configurations": len(board),
             "diverged": int((board.diverged > 0).sum()), "seconds": seconds,
             **{k: v for k, v in (test or {}).items() if isinstance(v, float)}}
  mark_finished(out, args, written, summary)
  return written, sweep_report.Chosen(
      summary, {k: np.nanmean(v[rows], axis=0) for k, v in curves.items()}, board)


def _shown(value) -> str:
  """A static value as written on the command line: 64, not 64.0."""
  return f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)


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
          f"evaluated once, for the chosen configuration only. Each optimizer sweeps the "
          f"parameters it takes (`swept`): those with a weight_decay option sweep it too, so "
          f"AdamW's row differs from Adam's by the decay it chose.\n\n"
          f"{sweep_report.markdown_table(frame)}\n")
  figure = sweep_plots.optimizer_comparison(chosen, objective,
                                            next(iter(tasks.values())).eval_steps)
  return [save_table(frame, out / "summary.csv"), save_text(text, out / "summary.md"),
          save_figure(figure, out / "comparison.png")]
