"""Files written atomically and durably, and output folders checked before any work is done.

  write_atomically(path, lambda partial: frame.to_csv(partial, index=False))
  save_table(frame, path); save_text(report, path); save_arrays({"loss": curve}, path)
  folder = output_folder("--out", "results/run")   # a one-line ValueError if it is unwritable

Each write goes to a temporary file beside the target with a name no other writer uses
(`.<name>.<pid>-<random>.partial<suffix>`), is flushed to disk (fsync), then renamed over the
target (os.replace: atomic on one file system), and the folder is fsynced so that the rename
itself survives a power cut. A reader, a resumed run or a concurrent writer of the same target
sees the old file or one whole new file, never half of one; a write that fails removes its
temporary file.
"""
import os
import secrets
from pathlib import Path
from typing import Callable

import numpy as np


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
  """Calls `write(partial)` on a uniquely named temporary file beside `path` (same suffix, so
  writers that pick a format by suffix still do), creating folders, fsyncs it, renames it to
  `path` and fsyncs the folder. Returns `path`."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  token = f"{os.getpid()}-{secrets.token_hex(4)}"
  partial = path.with_name(f".{path.stem}.{token}.partial{path.suffix}")
  try:
    write(partial)
    _fsync(partial, os.O_RDONLY)
    os.replace(partial, path)
  except BaseException:
    partial.unlink(missing_ok=True)
    raise
  fsync_folder(path.parent)
  return path


def _fsync(path: Path, flags: int) -> None:
  descriptor = os.open(path, flags)
  try:
    os.fsync(descriptor)
  finally:
    os.close(descriptor)


def fsync_folder(folder: Path) -> None:
  """Makes renames and deletions in `folder` durable (POSIX; a no-op where folders cannot be
  opened)."""
  if hasattr(os, "O_DIRECTORY"):
    _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)


def is_partial(path: Path) -> bool:
  """Whether `path` is the temporary file of a write (finished or killed)."""
  return path.name.startswith(".") and ".partial" in path.name


def output_folder(option: str, path) -> Path:
  """`path` as a folder that exists and can be written, or a one-line ValueError naming
  `option` (e.g. "--out" or "run_sweep(out=...)"), the path and why: checked before any work.
  """
  text = os.fspath(path) if isinstance(path, os.PathLike) else path
  if not isinstance(text, str) or not text.strip():
    raise ValueError(f"{option}: must name a folder, got {text!r}")
  folder = Path(text)
  where = option if option.endswith(")") else f"{option} {text}"  # a call names its value
  if folder.exists() and not folder.is_dir():
    raise ValueError(f"{where}: is a file, not a folder; name a folder to write into")
  try:
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-probe.{os.getpid()}-{secrets.token_hex(4)}"
    probe.touch(exist_ok=False)
    probe.unlink()
  except OSError as error:
    raise ValueError(f"{where}: cannot write there ({error.strerror or error}); "
                     f"name a folder you can write to") from None
  return folder


def save_table(frame, path: Path) -> Path:
  """Writes a pandas DataFrame to `path` as CSV, write-then-rename."""
  return write_atomically(path, lambda partial: frame.to_csv(partial, index=False))


def save_text(text: str, path: Path) -> Path:
  """Writes `text` to `path` (a report, markdown), write-then-rename."""
  return write_atomically(path, lambda partial: partial.write_text(text))


def save_arrays(arrays: dict, path: Path) -> Path:
  """Writes named NumPy arrays to `path` as a compressed .npz, write-then-rename."""
  return write_atomically(path, lambda partial: np.savez_compressed(partial, **arrays))
