"""finished.json: what `jaxopt-lab sweep` wrote for one optimizer's sweep, so a rerun that
loads every run from its chunks redoes no re-run, test, report or figure."""
import json
from pathlib import Path

import jax

from jaxopt_lab.files import save_text

FINISHED = "finished.json"
"""Written last by `sweep_task`: the files it wrote and its summary, for the sweep's rounds
(their fingerprints) and its re-run options; a rerun that loads every run reuses them."""


def _finish_key(out: Path, args) -> dict:
  rounds = sorted(out.glob("round-*/**/sweep.json"))  # static axes: one folder each
  return {"rounds": [json.loads(path.read_text()).get("fingerprint") for path in rounds],
          "top_k": args.top_k, "fresh_seeds": args.fresh_seeds}


def finished_record(out: Path, args):
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
