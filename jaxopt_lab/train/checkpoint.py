"""Checkpoints: a train state (any pytree of arrays and PRNG keys) saved atomically, restored
bit for bit into a target of the same structure, shapes and dtypes.

  state = {"params": params, "opt_state": opt_state, "key": key, "step": jnp.int32(step)}
  save_checkpoint("runs/a", step, state, keep=2)          # runs/a/step_0000000100.npz
  path = latest_checkpoint("runs/a")                       # None before the first save
  state = restore_tree(path, like=state)                   # like: arrays or ShapeDtypeStructs

Each checkpoint is one .npz file: leaf i is the member `leaf_i` (its bits: bfloat16 as uint16,
a typed PRNG key as `jax.random.key_data`), and a JSON member records every leaf's path
(`jax.tree_util.keystr`), dtype, shape and PRNG implementation. A save writes a temporary file
in the same folder, fsyncs it and renames it over the final name (`os.replace`, atomic on
POSIX), so a process killed during a save leaves the previous checkpoint as it was; the
half-written temporary file is ignored and removed by the next save. Restoring checks the file
against the target and raises ValueError naming the first leaf path whose structure, dtype or
shape differ. The arrays pass through host memory: one writer per folder, fully addressable
arrays (a single process, or process 0 of a multi-host run after gathering).
"""
import json
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path

from jaxopt_lab._validation import Interval, check_int

FORMAT = "jaxopt_lab.train.checkpoint/1"
NAME = re.compile(r"^step_(\d{10})\.npz$")
PathLike = Union[str, os.PathLike]


def _is_key(dtype) -> bool:
  return jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _spec(leaf) -> tuple[str, tuple]:
  """(dtype name, shape) of a leaf: an array, a ShapeDtypeStruct or a Python number."""
  if not hasattr(leaf, "dtype"):
    leaf = jnp.asarray(leaf)
  return str(leaf.dtype), tuple(leaf.shape)


def _bits(leaf) -> tuple[np.ndarray, Optional[str]]:
  """The leaf as a NumPy array of a dtype .npz stores natively, and its PRNG implementation."""
  if hasattr(leaf, "dtype") and _is_key(leaf.dtype):
    return np.asarray(jax.random.key_data(leaf)), str(jax.random.key_impl(leaf))
  array = np.asarray(jax.device_get(jnp.asarray(leaf)))
  if not array.dtype.isbuiltin:  # bfloat16, float8...: store the bits
    array = array.view(f"u{array.dtype.itemsize}")
  return array, None


def save_tree(path: PathLike, tree: Any) -> Path:
  """Writes `tree` to `path` atomically: a temporary file in the same folder, fsync, rename."""
  path = Path(path)
  leaves, header = {}, []
  for i, (key_path, leaf) in enumerate(tree_flatten_with_path(tree)[0]):
    dtype, shape = _spec(leaf)
    leaves[f"leaf_{i}"], impl = _bits(leaf)
    header.append({"path": keystr(key_path), "dtype": dtype, "shape": list(shape), "impl": impl})
  meta = json.dumps({"format": FORMAT, "leaves": header}).encode()
  leaves["meta"] = np.frombuffer(meta, np.uint8)
  temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
  try:
    with open(temporary, "xb") as file:
      np.savez(file, **leaves)
      file.flush()
      os.fsync(file.fileno())
    os.replace(temporary, path)
  except BaseException:
    temporary.unlink(missing_ok=True)
    raise
  _fsync_folder(path.parent)
  return path


def _fsync_folder(folder: Path) -> None:
  """Makes the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
  if hasattr(os, "O_DIRECTORY"):
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
      os.fsync(descriptor)
    finally:
      os.close(descriptor)


def restore_tree(path: PathLike, like: Any) -> Any:
  """The tree saved at `path`, with the structure of `like` (arrays or ShapeDtypeStructs).

  Raises ValueError naming the first leaf path where the file and `like` differ in structure,
  dtype or shape, and for a file that is not a checkpoint.
  """
  call = f"restore_tree({str(path)!r})"
  try:
    with np.load(path, allow_pickle=False) as file:
      meta = json.loads(bytes(file["meta"]))
      if meta.get("format") != FORMAT:
        raise ValueError(f"{call}: format {meta.get('format')!r}, expected {FORMAT!r}")
      arrays = [file[f"leaf_{i}"] for i in range(len(meta["leaves"]))]
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
    if str(error).startswith(call):
      raise
    raise ValueError(f"{call}: not a readable checkpoint ({error})") from error
  saved = meta["leaves"]
  targets, structure = tree_flatten_with_path(like)
  _check_paths(call, [entry["path"] for entry in saved], [keystr(p) for p, _ in targets])
  leaves = []
  for entry, array, (_, target) in zip(saved, arrays, targets):
    dtype, shape = _spec(target)
    if (entry["dtype"], tuple(entry["shape"])) != (dtype, shape):
      raise ValueError(f"{call}: leaf {entry['path']} is {entry['dtype']}{entry['shape']} in the "
                       f"checkpoint, the target wants {dtype}{list(shape)}")
    if entry["impl"] is not None:
      leaves.append(jax.random.wrap_key_data(jnp.asarray(array), impl=entry["impl"]))
    else:
      leaves.append(jnp.asarray(array.view(jnp.dtype(dtype))))
  return jax.tree.unflatten(structure, leaves)


def _check_paths(call: str, saved: list, wanted: list) -> None:
  for i in range(max(len(saved), len(wanted))):
    have = saved[i] if i < len(saved) else None
    want = wanted[i] if i < len(wanted) else None
    if have == want:
      continue
    if want is not None and want not in saved:
      raise ValueError(f"{call}: the target has a leaf at {want} that the checkpoint lacks")
    if have is not None and have not in wanted:
      raise ValueError(f"{call}: the checkpoint has a leaf at {have} that the target lacks")
    raise ValueError(f"{call}: leaf {want} is in another place in the checkpoint's tree")


def save_checkpoint(directory: PathLike, step: int, tree: Any, keep: int = 3) -> Path:
  """Saves `tree` as `directory/step_<step>.npz` (atomically, see `save_tree`), then deletes
  all but the newest `keep` checkpoints and any temporary file left by a killed save."""
  check_int("save_checkpoint", step=(step, Interval(0, 1e10)), keep=(keep, Interval(1, np.inf)))
  directory = Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  for leftover in directory.glob(".step_*.npz.*.tmp"):
    leftover.unlink(missing_ok=True)
  path = save_tree(directory / f"step_{int(step):010d}.npz", tree)
  for old in checkpoint_paths(directory)[:-int(keep)]:
    old.unlink(missing_ok=True)
  return path


def checkpoint_paths(directory: PathLike) -> list[Path]:
  """The complete checkpoints in `directory`, oldest step first ([] if there is none)."""
  directory = Path(directory)
  if not directory.is_dir():
    return []
  return sorted((p for p in directory.iterdir() if NAME.match(p.name)), key=lambda p: p.name)


def latest_checkpoint(directory: PathLike) -> Optional[Path]:
  """The checkpoint with the highest step in `directory`, or None."""
  paths = checkpoint_paths(directory)
  return paths[-1] if paths else None
