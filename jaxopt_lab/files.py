"""Files written atomically: to a partial file beside the target, then renamed over it.

  write_atomically(path, lambda partial: frame.to_csv(partial, index=False))
  save_table(frame, path); save_text(report, path); save_arrays({"loss": curve}, path)

A reader (or a resumed run) sees the old file or the whole new one, never half of one.
"""
import os
from pathlib import Path
from typing import Callable

import numpy as np


def write_atomically(path: Path, write: Callable[[Path], None], suffix: str = ".partial") -> Path:
  """Calls `write(partial)` with partial = path + `suffix`, creating folders, then renames the
  partial file to `path` (os.replace: atomic on one file system). Returns `path`."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + suffix)
  write(partial)
  os.replace(partial, path)
  return path


def save_table(frame, path: Path) -> Path:
  """Writes a pandas DataFrame to `path` as CSV, write-then-rename."""
  return write_atomically(path, lambda partial: frame.to_csv(partial, index=False))


def save_text(text: str, path: Path) -> Path:
  """Writes `text` to `path` (a report, markdown), write-then-rename."""
  return write_atomically(path, lambda partial: partial.write_text(text))


def save_arrays(arrays: dict, path: Path) -> Path:
  """Writes named NumPy arrays to `path` as a compressed .npz, write-then-rename."""
  return write_atomically(path, lambda partial: np.savez_compressed(partial, **arrays),
                          suffix=".partial.npz")
