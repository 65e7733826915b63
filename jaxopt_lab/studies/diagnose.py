"""`jaxopt-lab diagnose RUN_DIR`: the training diagnosis of a finished sweep, printed.

  jaxopt-lab sweep --optimizer sgd --param learning_rate=log:1e-4:3:16 --out runs/sgd
  jaxopt-lab diagnose runs/sgd            # the top and bottom 3 configurations' findings

Reads what `jaxopt-lab sweep` wrote under RUN_DIR: task.json (the task, its objective and
evaluation steps), results.csv (one row per run) and curves.npz (every run's curves, the
run statistics among them), checks that they describe the same runs, ranks the
configurations as the sweep did and prints the lectures' findings for the best and the
worst of them (`jaxopt_lab.diagnostics.diagnosis`). A folder of several optimizers' sweeps
(`--optimizer sgd,adam`) is read subfolder by subfolder. Writes nothing.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import diagnose_configurations, leaderboard

DESCRIPTION = "The training diagnosis of a finished sweep (RUN_DIR: its --out folder), printed."
FILES = ("task.json", "results.csv", "curves.npz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("run_dir", nargs="?", type=Path, metavar="RUN_DIR",
                      help="the --out folder of a finished `jaxopt-lab sweep`")
  parser.add_argument("--top", type=int, default=3,
                      help="configurations diagnosed from each end of the ranking")


def sweep_folders(run_dir: Path) -> list[Path]:
  """RUN_DIR itself, or its subfolders, that hold a finished sweep; a ValueError otherwise."""
  if run_dir is None:
    raise ValueError("RUN_DIR is required: the --out folder of a finished `jaxopt-lab sweep`")
  if (run_dir / FILES[0]).exists():
    return [run_dir]
  folders = sorted(p.parent for p in run_dir.glob(f"*/{FILES[0]}"))
  if not folders:
    raise ValueError(f"RUN_DIR {str(run_dir)!r}: must be the --out folder of a finished "
                     f"`jaxopt-lab sweep` (with {', '.join(FILES)}), got a folder without "
                     f"{FILES[0]}")
  return folders


def load(folder: Path):
  """(record, table, curves) of the sweep in `folder`, checked to describe the same runs."""
  missing = [name for name in FILES if not (folder / name).exists()]
  if missing:
    raise ValueError(f"RUN_DIR {str(folder)!r}: must hold {', '.join(FILES)}, got no "
                     f"{', '.join(missing)}")
  record = json.loads((folder / FILES[0]).read_text())
  table = pd.read_csv(folder / FILES[1])
  with np.load(folder / FILES[2]) as saved:
    curves = {name: saved[name] for name in saved.files}
  sizes = {name: len(curve) for name, curve in curves.items()}
  if len(table) != record["rows"] or set(sizes.values()) != {len(table)}:
    raise ValueError(f"RUN_DIR {str(folder)!r}: results.csv ({len(table)} runs), curves.npz "
                     f"({sorted(set(sizes.values()))} runs) and task.json ({record['rows']} "
                     "runs) must describe the same sweep, got different run counts")
  return record, table, curves


def main(args: argparse.Namespace) -> list[Path]:
  if args.top < 1:
    raise ValueError(f"--top must be a positive integer, got {args.top}")
  folders = sweep_folders(args.run_dir)
  loaded = [(folder, *load(folder)) for folder in folders]   # all checked before printing
  for folder, record, table, curves in loaded:
    print(f"{folder}: {record['task']}, {len(table)} runs")
    if record["eval_steps"] is None or "val_loss" not in curves:
      print("  no training curves to diagnose (a task without validation)")
      continue
    objective = Objective(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in record["objective"].items()})
    names = record["hyperparameters"]
    board = leaderboard(table, names, objective)
    found = diagnose_configurations(table, curves, board, names,
                                    np.asarray(record["eval_steps"]), top=args.top)
    for row in found.itertuples(index=False):
      setting = ", ".join(f"{name}={getattr(row, name):.4g}" for name in names)
      print(f"  #{row.rank} of {len(board)} ({setting}): {row.findings}")
  return []
