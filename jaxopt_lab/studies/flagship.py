"""The main job, `make run`: the studies a newcomer should see first, each into its own folder,
and results/README.md, an index of every figure and table with the sweep's verdict.

  1. sweep         every optimizer of the zoo on a digits MLP, each its own compiled sweep:
                   13 learning rates (1e-5 to 10) x 3 seeds, and x 4 weight decays for those
                   with a weight_decay option (AdamW, Lion, LAMB, LARS, Adafactor, Muon,
                   schedule-free AdamW); chosen on validation, re-run on fresh seeds, tested
                   once (report and figures)
  2. momentum-sweep-vs-theory   a momentum sweep on a quadratic over the theory's rate map
  3. theory        the six convergence-rate figures (theory lines, measured runs as points)
  4. trajectories  every optimizer's path on a quadratic, Rosenbrock and a saddle

  jaxopt-lab flagship --out results          (about 10 minutes on 2 idle CPU cores)
"""
import argparse
import time
from pathlib import Path

from jaxopt_lab.files import save_text
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.studies import run_study

DESCRIPTION = "The flagship run of `make run`: the zoo on digits, theory figures, trajectories."
SWEEP = dict(optimizer=",".join(BY_NAME),  # each parameter applies where the optimizer has it
             param=["learning_rate=loggrid:1e-5:10:13", "weight_decay=0,1e-3,1e-2,1e-1"],
             seeds=3, steps=600, eval_every=50, top_k=3, fresh_seeds=3)
QUICK_SWEEP = dict(optimizer="sgd,adam,adamw", param=["learning_rate=1e-3,1e-2,1e-1",
                                                       "weight_decay=0,1e-2"],
                   seeds=1, top_k=2, fresh_seeds=1)
PLAN = [  # (folder, study, options, options with --quick)
    ("sweep", "sweep", SWEEP, QUICK_SWEEP),
    ("momentum-sweep-vs-theory", "momentum-sweep-vs-theory", {}, {}),
    ("theory", "theory", {}, {}),
    ("trajectories", "trajectories", {}, {}),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def main(args: argparse.Namespace) -> list[Path]:
  out = Path(args.out)
  written, timings = [], {}
  for folder, study, options, quick_options in PLAN:
    print(f"== {study}")
    began = time.perf_counter()
    written += run_study(study, out / folder, args.quick,
                             **(quick_options if args.quick else options))
    timings[folder] = time.perf_counter() - began
  written.append(save_text(index(out, written, timings), out / "README.md"))
  return written


def index(out: Path, written: list[Path], timings: dict) -> str:
  """A markdown index: the sweep's summary, then every file by folder, with the time taken."""
  lines = ["# jaxopt_lab flagship results", "",
           "Regenerate with `make run` (or `jaxopt-lab flagship --out results`); each folder "
           "is also one command, `jaxopt-lab <study>`.", ""]
  summary = out / "sweep" / "summary.md"
  if summary.exists():
    lines += [summary.read_text().replace("# ", "## ", 1), ""]
  lines += ["## Files", ""]
  for folder, seconds in timings.items():
    lines.append(f"- **{folder}/** ({seconds:.0f} s)")
    for path in written:
      relative = Path(path).relative_to(out)
      if relative.parts[0] == folder and relative.suffix in (".png", ".md", ".csv"):
        lines.append(f"  - [{relative}]({relative})")
  return "\n".join(lines) + "\n"
