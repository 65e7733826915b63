"""Successive halving against the full sweep on digits: does it find the full sweep's winner,
and at what fraction of the run-steps?

64 Adam configurations (16 learning rates log-spaced in [1e-4, 0.3] x b1 in {0.5, 0.8, 0.9,
0.95}) on a 64-32-10 digits MLP, 540 steps of batch 64, validated every 20 steps. The full
sweep runs every configuration on each of 10 sweep seeds (640 runs, one program); halving
(eta 3, rungs of 60, 180 and 540 steps) runs once per sweep seed. For each seed, the halving
winner succeeds when it is the full sweep's winner on that seed, or when its mean objective
over all 10 seeds lies within one seed standard deviation of that winner's (the winner's
seed spread: the two cannot be told apart). Writes halving.json and halving.md.

  python -m benchmarks.halving --out results/benchmarks
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from jaxopt_lab.files import save_text
from jaxopt_lab.sweeps import leaderboard, run_sweep, successive_halving
from jaxopt_lab.sweeps.tasks import digits_task

NAMES = ["learning_rate", "b1"]


def space() -> dict:
  rates, b1 = np.meshgrid(np.geomspace(1e-4, 0.3, 16), [0.5, 0.8, 0.9, 0.95], indexing="ij")
  return {"learning_rate": rates.ravel(), "b1": b1.ravel()}


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", type=int, default=10)
  parser.add_argument("--steps", type=int, default=540)
  parser.add_argument("--min-steps", type=int, default=60)
  parser.add_argument("--eta", type=int, default=3)
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  task = digits_task("adam", widths=(32,), steps=args.steps, batch_size=64, eval_every=20)
  columns, seeds = space(), list(range(args.seeds))
  began = time.perf_counter()
  full = run_sweep(task.run, columns, seeds, objective=task.objective, progress=False)
  full_seconds = time.perf_counter() - began
  overall = leaderboard(full.table, NAMES, task.objective).set_index("config")
  rows, halving_seconds = [], 0.0
  for seed in seeds:
    winner = leaderboard(full.table[full.table.seed == seed], NAMES, task.objective).iloc[0]
    began = time.perf_counter()
    halved = successive_halving(task, columns, [seed], eta=args.eta, min_steps=args.min_steps)
    halving_seconds += time.perf_counter() - began
    chosen = halved.board.iloc[0]
    gap = overall.at[winner.config, "mean"] - overall.at[chosen.config, "mean"]
    spread = overall.at[winner.config, "std"]
    rows.append({"seed": seed, "full_winner": int(winner.config),
                 "halving_winner": int(chosen.config),
                 "same": bool(winner.config == chosen.config),
                 "gap_in_mean": float(gap), "winner_seed_std": float(spread),
                 "within_spread": bool(winner.config == chosen.config or gap <= spread),
                 "run_steps_fraction": halved.run_steps / halved.full_run_steps,
                 "computed_fraction": halved.computed_run_steps / halved.full_run_steps})
  found = sum(r["within_spread"] for r in rows)
  fraction = float(np.mean([r["run_steps_fraction"] for r in rows]))
  summary = {"configurations": len(columns["learning_rate"]), "sweep_seeds": len(seeds),
             "steps": args.steps, "eta": args.eta, "rungs": halved.rungs.to_dict("records"),
             "found": found, "same_winner": sum(r["same"] for r in rows),
             "run_steps_fraction": fraction,
             "computed_fraction": float(np.mean([r["computed_fraction"] for r in rows])),
             "full_sweep_seconds": full_seconds, "halving_seconds_total": halving_seconds,
             "per_seed": rows}
  lines = [f"# Successive halving vs the full sweep ({summary['configurations']} "
           f"configurations, {len(seeds)} sweep seeds)", "",
           f"- full sweep's winner or one within its seed spread: {found} of {len(seeds)} seeds "
           f"(the same configuration: {summary['same_winner']})",
           f"- run-steps: {fraction:.1%} of the full sweep's ({summary['computed_fraction']:.1%} "
           f"computed, with the padding of each rung's last chunk)",
           f"- time: full sweep {full_seconds:.1f} s for {len(seeds)} seeds; halving "
           f"{halving_seconds:.1f} s for all seeds, compilation included", "",
           "| seed | full winner | halving winner | gap in mean | winner's seed std |",
           "|---|---|---|---|---|"]
  lines += [f"| {r['seed']} | {r['full_winner']} | {r['halving_winner']} | "
            f"{r['gap_in_mean']:.4f} | {r['winner_seed_std']:.4f} |" for r in rows]
  print("\n".join(lines))
  save_text("\n".join(lines) + "\n", args.out / "halving.md")
  save_text(json.dumps(summary, indent=2), args.out / "halving.json")
  return summary


if __name__ == "__main__":
  main()
