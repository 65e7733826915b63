"""Checkpoints through orbax-checkpoint: a train state (any pytree of JAX arrays, NumPy arrays,
Python numbers and typed PRNG keys) saved per step and restored bit for bit into a target of
the same structure, shapes and dtypes.

  state = {"params": params, "opt_state": opt_state, "key": key, "step": jnp.int32(step)}
  save_checkpoint("runs/a", step, state, keep=2)   # runs/a/<step>/, an orbax checkpoint
  path = latest_checkpoint("runs/a")                # None before the first save
  state = restore_tree(path, like=state)            # like: arrays or ShapeDtypeStructs
  save_tree("runs/b/final", state)                  # one checkpoint outside any step folder

Storage is orbax's: `CheckpointManager` keeps the step folders (named by the step; keep the
`keep` highest steps), and every checkpoint is written to a temporary folder, then renamed
once complete (a killed save leaves a temporary folder that the next save removes, and the
previous step intact). A checkpoint holds two orbax items: `state`, the leaves as a flat dict
(`leaf_<i>`) that `StandardSave` writes (typed PRNG keys as their key data), and `manifest`
(JSON): each leaf's path (`jax.tree_util.keystr`), kind (jax, numpy, python, key), dtype,
shape, PRNG implementation and SHA-256 checksum.

What this module adds to orbax, each measured against orbax-checkpoint 0.12.8:
- Steps only go forward: a step at or below the latest is refused with one line (orbax's
  manager returns False and saves nothing, and `keep=1` would then have deleted the newest
  state). Keep-N therefore always keeps the newest steps.
- Nothing outside the folder is read or deleted: orbax's manager lists a symlink named like a
  step (`9999999999 -> elsewhere`) as its latest step; here `latest_checkpoint` and
  `checkpoint_paths` list only real step folders, and `save_checkpoint` refuses a folder
  holding such a link or file, by name, before orbax sees it.
- Restoring checks the target against the manifest first (orbax silently casts a float32
  leaf to a bfloat16 target) and every leaf's checksum after: one ValueError naming the
  checkpoint and the first leaf path whose structure, dtype or shape differ, or whose data is
  damaged. NumPy leaves come back as NumPy arrays of their own dtype (float64 and int64 stay
  64-bit with x64 off), JAX leaves as JAX arrays, keys as typed keys of their implementation.
Arrays pass through host memory for their checksums: one writer per folder and fully
addressable arrays (a single process, or process 0 of a multi-host run after gathering).
"""
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from jax.tree_util import keystr, tree_flatten_with_path

from jaxopt_lab._validation import Interval, check_int
from jaxopt_lab.files import output_folder

FORMAT = "jaxopt_lab.train.checkpoint/2"
STEP = re.compile(r"^\d+$")
LEAF = re.compile(r"\bleaf_(\d+)\b")
PathLike = Union[str, os.PathLike]


def _kind(leaf) -> str:
  if isinstance(leaf, (bool, int, float)):
    return "python"
  if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
    return "key"
  return "numpy" if isinstance(leaf, (np.ndarray, np.generic)) else "jax"


def _spec(leaf) -> tuple[str, tuple]:
  """(dtype name, shape) of a leaf: an array, a ShapeDtypeStruct or a Python number."""
  if isinstance(leaf, (bool, int, float)):
    return type(leaf).__name__, ()
  if not hasattr(leaf, "dtype"):
    leaf = np.asarray(leaf)
  return str(leaf.dtype), tuple(leaf.shape)


def _stored(leaf, kind: str):
  """The leaf as orbax stores it: keys as key data, numbers and NumPy leaves as NumPy."""
  if kind == "key":
    return jax.random.key_data(leaf)
  if kind in ("python", "numpy"):
    return np.asarray(leaf)
  return leaf


def _digest(value) -> str:
  array = np.ascontiguousarray(jax.device_get(value))
  return hashlib.sha256(array.tobytes()).hexdigest()


def _contents(tree: Any) -> tuple[dict, dict]:
  """The flat dict orbax saves and the manifest describing it."""
  leaves, entries = {}, []
  for i, (key_path, leaf) in enumerate(tree_flatten_with_path(tree)[0]):
    kind = _kind(leaf)
    dtype, shape = _spec(leaf)
    stored = _stored(leaf, kind)
    leaves[f"leaf_{i}"] = stored
    entries.append({"path": keystr(key_path), "kind": kind, "dtype": dtype,
                    "shape": list(shape), "sha256": _digest(stored),
                    "impl": str(jax.random.key_impl(leaf)) if kind == "key" else None})
  return leaves, {"format": FORMAT, "leaves": entries}


def _arguments(tree: Any):
  leaves, manifest = _contents(tree)
  return ocp.args.Composite(state=ocp.args.StandardSave(leaves),
                            manifest=ocp.args.JsonSave(manifest))


def save_tree(path: PathLike, tree: Any) -> Path:
  """Writes `tree` as one orbax checkpoint folder at `path` (a temporary folder, renamed once
  complete). An existing `path` is refused: nothing saved is overwritten."""
  path = Path(path)
  if path.exists() or path.is_symlink():
    raise ValueError(f"save_tree({str(path)!r}): path must not exist yet (a checkpoint is "
                     f"never overwritten), got an existing {'folder' if path.is_dir() else 'file'}")
  output_folder(f"save_tree({str(path)!r})", path.parent)
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
    checkpointer.save(path.absolute(), args=_arguments(tree))
  return path


def restore_tree(path: PathLike, like: Any) -> Any:
  """The tree saved at `path`, with the structure of `like` (arrays, NumPy arrays, Python
  numbers or ShapeDtypeStructs; each restored leaf takes its target's kind).

  Raises one ValueError naming the checkpoint and the first leaf path where the checkpoint and
  `like` differ in structure, dtype or shape, whose data is damaged, or for a folder that is
  not a checkpoint.
  """
  call = f"restore_tree({str(path)!r})"
  path = Path(path)
  if path.is_symlink() or not path.is_dir():
    raise ValueError(f"{call}: not a checkpoint folder (a link, a file or nothing is there)")
  saved = _manifest(call, path)
  targets, structure = tree_flatten_with_path(like)
  _check_paths(call, [entry["path"] for entry in saved], [keystr(p) for p, _ in targets])
  wanted = {}
  for i, (entry, (_, target)) in enumerate(zip(saved, targets)):
    wanted[f"leaf_{i}"] = _target(call, entry, target)
  try:
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
      arrays = checkpointer.restore(path.absolute(), args=ocp.args.Composite(
          state=ocp.args.StandardRestore(wanted)))["state"]
  except Exception as error:  # orbax and tensorstore raise many types for damaged data
    raise ValueError(f"{call}: {_damaged_leaf(error, saved)}") from None
  leaves = []
  for i, (entry, (_, target)) in enumerate(zip(saved, targets)):
    array = arrays[f"leaf_{i}"]
    if _digest(array) != entry["sha256"]:
      raise ValueError(f"{call}: leaf {entry['path']} is damaged (its checksum does not match "
                       f"the data read)")
    leaves.append(_restored(array, entry, target))
  return jax.tree.unflatten(structure, leaves)


def _manifest(call: str, path: Path) -> list:
  try:
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
      manifest = checkpointer.restore(path.absolute(), args=ocp.args.Composite(
          manifest=ocp.args.JsonRestore()))["manifest"]
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
      raise ValueError(f"format {manifest.get('format') if isinstance(manifest, dict) else None!r}"
                       f", expected {FORMAT!r}")
    return manifest["leaves"]
  except Exception as error:  # orbax raises many types for a folder that is not a checkpoint
    first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    raise ValueError(f"{call}: not a readable checkpoint (its manifest: {first})") from None


def _damaged_leaf(error: Exception, saved: list) -> str:
  found = LEAF.search(str(error))
  where = f"leaf {saved[int(found[1])]['path']}" if found and int(found[1]) < len(saved) \
      else "its data"
  return f"{where} is damaged or unreadable ({type(error).__name__})"


def _target(call: str, entry: dict, target):
  """What orbax restores leaf `entry` into, after checking `target` against it."""
  dtype, shape = _spec(target)
  kind = _kind(target)
  if (entry["dtype"], tuple(entry["shape"])) != (dtype, shape) or \
      (entry["kind"] == "key") != (kind == "key"):
    raise ValueError(f"{call}: leaf {entry['path']} is {entry['dtype']}{entry['shape']} in the "
                     f"checkpoint, the target wants {dtype}{list(shape)}")
  if kind == "key":
    data = jax.eval_shape(jax.random.key_data, target)
    return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=_one_device())
  if kind in ("numpy", "python"):
    return np.zeros(shape, np.asarray(target).dtype if kind == "python" else dtype)
  if np.dtype(dtype).itemsize == 8 and not jax.config.jax_enable_x64:
    raise ValueError(f"{call}: leaf {entry['path']} is {dtype}, which a JAX array holds only "
                     f"with jax_enable_x64; pass a NumPy array there in `like` to get it as one")
  sharding = getattr(target, "sharding", None) or _one_device()
  return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)


def _one_device():
  return jax.sharding.SingleDeviceSharding(jax.devices()[0])


def _restored(array, entry: dict, target):
  if entry["kind"] == "key":
    return jax.random.wrap_key_data(jnp.asarray(array), impl=entry["impl"])
  if isinstance(target, (bool, int, float)):
    return type(target)(np.asarray(array).item())
  if isinstance(target, (np.ndarray, np.generic)):
    return np.asarray(array)
  return jnp.asarray(array)


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
  """Saves `tree` as step `step` of `directory` (`directory/<step>/`, see the module
  docstring), then deletes all but the `keep` highest steps and any temporary folder of a
  killed save. `step` must be above every step already there."""
  check_int("save_checkpoint", step=(step, Interval(0, 10 ** 15)),
            keep=(keep, Interval(1, np.inf)))
  call = f"save_checkpoint({str(directory)!r}, step={int(step)})"
  directory = output_folder(call, directory).absolute()
  strangers = [p for p in directory.iterdir()
               if STEP.match(p.name) and (p.is_symlink() or not p.is_dir())]
  if strangers:
    raise ValueError(f"{call}: {strangers[0]} is named like a checkpoint but is a "
                     f"{'symbolic link' if strangers[0].is_symlink() else 'file'}; remove it "
                     f"(it is never followed, read or deleted)")
  steps = [int(p.name) for p in checkpoint_paths(directory)]
  if steps and int(step) <= steps[-1]:
    raise ValueError(f"{call}: step must be above the latest step {steps[-1]} in {directory} "
                     f"(steps only go forward; delete {directory / str(steps[-1])} to rewind), "
                     f"got {int(step)}")
  options = ocp.CheckpointManagerOptions(max_to_keep=int(keep), cleanup_tmp_directories=True,
                                         enable_async_checkpointing=False)
  with ocp.CheckpointManager(directory, options=options,
                             item_names=("state", "manifest")) as manager:
    if not manager.save(int(step), args=_arguments(tree)):
      raise ValueError(f"{call}: orbax did not save the step (it has steps "
                       f"{manager.all_steps()})")
  return directory / str(int(step))


def checkpoint_paths(directory: PathLike) -> list[Path]:
  """The complete checkpoints in `directory`, lowest step first ([] if there is none): real
  folders named by a step, never a symbolic link, a file or a temporary folder."""
  directory = Path(directory)
  if not directory.is_dir():
    return []
  steps = [p for p in directory.iterdir()
           if STEP.match(p.name) and p.is_dir() and not p.is_symlink()]
  return sorted(steps, key=lambda p: int(p.name))


def latest_checkpoint(directory: PathLike) -> Optional[Path]:
  """The checkpoint with the highest step in `directory`, or None."""
  paths = checkpoint_paths(directory)
  return paths[-1] if paths else None
