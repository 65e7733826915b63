"""A sweep's folder on disk: its manifest and its finished chunks, so that a sweep resumes.

  out/sweep.json            what the folder holds (fingerprint, description, rows, chunk size)
  out/chunks/chunk-N.npz    the metrics of rows [N * chunk, (N + 1) * chunk), written atomically
"""
import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np

from jaxopt_lab.files import write_atomically


def fingerprint(flat, seeds, chunk, description: str) -> str:
  digest = hashlib.sha256(description.encode())
  for name in sorted(flat):
    digest.update(name.encode())
    digest.update(np.ascontiguousarray(flat[name]).tobytes())
  digest.update(seeds.tobytes())
  digest.update(str(chunk).encode())
  return digest.hexdigest()[:16]


def claim_folder(out: Path, stamp: dict):
  """Creates out/sweep.json, or checks that the one there describes this very sweep."""
  manifest = out / "sweep.json"
  if manifest.exists():
    previous = json.loads(manifest.read_text())
    if previous["fingerprint"] != stamp["fingerprint"]:
      raise ValueError(f"{out} holds a different sweep ({previous['description']}, "
                       f"{previous['rows']} rows); choose another --out or delete it")
    return
  write_atomically(manifest, lambda partial: partial.write_text(json.dumps(stamp, indent=2)))


def chunk_path(chunk_dir: Path, number: int) -> Path:
  return chunk_dir / f"chunk-{number:05d}.npz"


def load_chunk(path: Path) -> Optional[dict]:
  """The metrics saved at `path`, or None when no chunk is there yet."""
  if not path.exists():
    return None
  with np.load(path) as saved:
    return {name: saved[name] for name in saved.files}


def save_chunk(path: Path, piece: dict) -> None:
  write_atomically(path, lambda partial: np.savez(partial, **piece), suffix=".partial.npz")
