"""Files written atomically: to a partial file beside the target, then renamed over it.

  write_atomically(path, lambda partial: frame.to_csv(partial, index=False))

A reader (or a resumed run) sees the old file or the whole new one, never half of one.
"""
import os
from pathlib import Path
from typing import Callable


def write_atomically(path: Path, write: Callable[[Path], None], suffix: str = ".partial") -> Path:
  """Calls `write(partial)` with partial = path + `suffix`, creating folders, then renames the
  partial file to `path` (os.replace: atomic on one file system). Returns `path`."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + suffix)
  write(partial)
  os.replace(partial, path)
  return path
