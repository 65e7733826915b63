"""A sweep's folder on disk: its identity, its finished chunks and its writer's lock.

  out/sweep.json            the sweep's identity (below), its fingerprint and a description
  out/chunks/chunk-N.npz    the metrics of rows [N * chunk, min((N + 1) * chunk, rows)), with a
                            member `__chunk__` recording the fingerprint, the row range and a
                            SHA-256 checksum of the metrics
  out/.lock                 held (flock) by the one process writing the folder

Identity: a sweep's numbers are a function of the compiled program and its inputs, so the
fingerprint hashes the text of the program as JAX lowers it (StableHLO: the run, every option
of its task, the model, the data embedded as constants, the chunk shape (configurations x
seeds, vmapped inside the seeds: common random numbers), the dtype, the sharding), every
hyperparameter value and seed of every row, the engine's `LAYOUT`, and the jax and jaxlib
versions, platform and device kind that compile it. A folder holds one sweep: a sweep whose identity
differs is refused with one line saying what differs (a second sweep would overwrite the
first one's tables and figures beside the chunks, so keeping both would lose data).

Every chunk is verified when loaded: readable, its fingerprint, its row range, the names,
shapes and dtypes of its metrics, and its checksum. A chunk that fails (damaged, truncated,
foreign, moved) is recomputed, with a `ChunkWarning` naming the file and the reason.
"""
import contextlib
import hashlib
import json
import warnings
import zipfile
from pathlib import Path
from typing import Optional

import filelock
import jax
import jaxlib
import numpy as np

from jaxopt_lab.files import is_partial, write_atomically

FORMAT = "jaxopt_lab.sweeps.store/2"
HEADER = "__chunk__"   # the npz member holding a chunk's header (a reserved metric name)
LAYOUT = "configurations inside seeds"  # how the engine batches a chunk (see engine.py)
DIFFERENCES = {        # identity entry -> what a difference in it means, in the user's terms
    "layout": "another batching of the runs (a folder written before the configurations were "
              "vmapped inside the seeds: its numbers differ in their last bits; recompute it)",
    "hyperparameters": "other hyperparameter names",
    "rows": "another number of runs",
    "chunk_size": "another chunk size (results depend on it in their last bits: XLA compiles "
                  "each batch size apart)",
    "dtype": "another hyperparameter dtype",
    "devices": "another number of devices",
    "platform": "another platform", "device_kind": "another device kind",
    "jax": "another jax version", "jaxlib": "another jaxlib version",
    "program": "another computation (the run, its task's options, its model or data differ)",
    "inputs": "other hyperparameter values or seeds",
}


class ChunkWarning(UserWarning):
  """A stored chunk that cannot be trusted: it is recomputed."""


def identity(program_text: str, flat: dict, seeds: np.ndarray, chunk_size: int, dtype,
             devices: int) -> dict:
  """What the numbers of a sweep depend on (see the module docstring), as JSON-ready values."""
  inputs = hashlib.sha256()
  for name in sorted(flat):
    inputs.update(name.encode() + b"\0")
    inputs.update(np.ascontiguousarray(flat[name], np.float64).tobytes())
  inputs.update(np.ascontiguousarray(seeds, np.uint32).tobytes())
  device = jax.devices()[0]
  return {"layout": LAYOUT, "program": hashlib.sha256(program_text.encode()).hexdigest(),
          "hyperparameters": sorted(flat), "rows": int(len(seeds)),
          "inputs": inputs.hexdigest(), "chunk_size": int(chunk_size),
          "dtype": str(np.dtype(dtype)), "devices": int(devices), "platform": device.platform,
          "device_kind": device.device_kind, "jax": jax.__version__,
          "jaxlib": jaxlib.__version__}


def fingerprint(identity_: dict) -> str:
  return hashlib.sha256(json.dumps(identity_, sort_keys=True).encode()).hexdigest()[:32]


def read_manifest(out: Path, warn: bool = True) -> Optional[dict]:
  """The manifest of `out`, or None when there is none or it is unreadable (with a warning if
  `warn`: the chunks carry their own fingerprints, so a new manifest loses nothing)."""
  manifest = out / "sweep.json"
  if not manifest.exists():
    return None
  try:
    stored = json.loads(manifest.read_text())
    if not isinstance(stored, dict) or "fingerprint" not in stored:
      raise ValueError("no fingerprint in it")
  except (OSError, ValueError, UnicodeDecodeError) as error:
    if warn:
      warnings.warn(f"{manifest} is damaged ({type(error).__name__}: {error}); writing it anew, "
                    f"and every chunk is verified on its own", ChunkWarning, stacklevel=3)
    return None
  return stored


def claim_folder(out: Path, identity_: dict, description: str, option: str) -> str:
  """Writes out/sweep.json for this sweep, or checks that the one there is this very sweep;
  returns the fingerprint. Raises a one-line ValueError naming what differs."""
  stored = read_manifest(out)
  stamp = fingerprint(identity_)
  if stored is not None and stored["fingerprint"] != stamp:
    raise ValueError(f"{option}: {out} holds a different sweep "
                     f"({stored.get('description') or 'no description'}): "
                     f"{_difference(stored.get('identity'), identity_)}; choose another folder "
                     f"or delete this one")
  if stored is None:
    manifest = {"format": FORMAT, "fingerprint": stamp, "description": description,
                "identity": identity_}
    write_atomically(out / "sweep.json",
                     lambda partial: partial.write_text(json.dumps(manifest, indent=2)))
  return stamp


def _difference(stored: Optional[dict], wanted: dict) -> str:
  if not isinstance(stored, dict):
    return "it was written by an older jaxopt_lab whose chunks carry no identity"
  for key, meaning in DIFFERENCES.items():
    if stored.get(key) != wanted[key]:
      if key in ("program", "inputs"):
        return meaning
      return f"{meaning}: {stored.get(key)} there, {wanted[key]} now"
  return "its identity differs"


@contextlib.contextmanager
def locked(out: Path, option: str):
  """Holds out/.lock (an flock, released when the process ends, even by a kill) while the
  block runs; a folder another process holds is refused with one line, never shared."""
  lock = filelock.FileLock(out / ".lock")
  try:
    lock.acquire(timeout=0)
  except filelock.Timeout:
    raise ValueError(f"{option}: {out} is in use by another sweep (it holds {out / '.lock'}); "
                     f"wait for it to finish or choose another folder") from None
  try:
    yield
  finally:
    lock.release()


def chunk_path(chunk_dir: Path, number: int) -> Path:
  return chunk_dir / f"chunk-{number:05d}.npz"


def remove_partial_files(chunk_dir: Path) -> None:
  """Deletes the temporary files of killed chunk writes (call with the folder's lock held)."""
  for path in chunk_dir.iterdir():
    if is_partial(path) and path.is_file() and not path.is_symlink():
      path.unlink(missing_ok=True)


def checksum(piece: dict) -> str:
  digest = hashlib.sha256()
  for name in sorted(piece):
    array = np.ascontiguousarray(piece[name])
    digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
    digest.update(array.tobytes())
  return digest.hexdigest()


def save_chunk(path: Path, piece: dict, stamp: str, start: int, stop: int) -> None:
  header = {"fingerprint": stamp, "start": int(start), "stop": int(stop),
            "checksum": checksum(piece)}
  members = {**piece, HEADER: np.frombuffer(json.dumps(header).encode(), np.uint8)}
  write_atomically(path, lambda partial: np.savez(partial, **members))


def load_chunk(path: Path, stamp: str, start: int, stop: int, spec: dict) -> Optional[dict]:
  """The metrics saved at `path` if they are rows [start, stop) of the sweep `stamp`, with the
  names, shapes (per run) and dtypes of `spec`; None if no chunk is there, or (with a
  ChunkWarning naming the file) if the one there cannot be trusted."""
  if not path.exists() and not path.is_symlink():
    return None
  if path.is_dir() and not path.is_symlink():
    raise ValueError(f"{path} is a folder where a chunk belongs; remove it (it is never "
                     f"deleted for you)")
  if path.is_symlink() or not path.is_file():
    return _distrust(path, "it is not a regular file of this folder")
  try:
    piece, header = _read(path)
  except Exception as error:  # any failure to read a chunk means it is damaged
    return _distrust(path, f"unreadable: {_reason(error)}")
  if header.get("fingerprint") != stamp:
    return _distrust(path, f"it belongs to another sweep ({header.get('fingerprint')})")
  if (header.get("start"), header.get("stop")) != (start, stop):
    return _distrust(path, f"it holds rows [{header.get('start')}, {header.get('stop')}), "
                           f"not [{start}, {stop})")
  wanted = {name: (str(np.dtype(dtype)), (stop - start, *shape))
            for name, (shape, dtype) in spec.items()}
  found = {name: (str(array.dtype), array.shape) for name, array in piece.items()}
  if found != wanted:
    return _distrust(path, f"its metrics are {found}, the sweep's are {wanted}")
  if header.get("checksum") != checksum(piece):
    return _distrust(path, "its checksum does not match its contents")
  return piece


def _read(path: Path) -> tuple[dict, dict]:
  with np.load(path, allow_pickle=False) as saved:
    if HEADER not in saved.files:
      raise ValueError("no header: not a chunk of this format")
    header = json.loads(saved[HEADER].tobytes())
    if not isinstance(header, dict):
      raise ValueError("its header is not a record")
    return {name: saved[name] for name in saved.files if name != HEADER}, header


def _reason(error: Exception) -> str:
  """Why a chunk could not be read, in a file's terms (never NumPy's advice on pickles)."""
  text = str(error).splitlines()[0] if str(error) else type(error).__name__
  if isinstance(error, zipfile.BadZipFile) or "pickle" in text:
    return "not a NumPy archive (truncated, overwritten or another format)"
  return f"{type(error).__name__}: {text}"


def _distrust(path: Path, reason: str) -> None:
  warnings.warn(f"{path}: {reason}; recomputing it", ChunkWarning, stacklevel=3)
  return None


def saved_runs(folder: Path) -> int:
  """How many runs finished chunks under `folder` (any depth) hold for the sweep of their
  folder's manifest: what a resume would not recompute. 0 when there are none."""
  folder = Path(folder)
  total = 0
  for manifest in folder.rglob("sweep.json") if folder.is_dir() else ():
    try:
      stamp = json.loads(manifest.read_text())["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
      continue
    for path in (manifest.parent / "chunks").glob("chunk-*.npz"):
      try:
        with np.load(path, allow_pickle=False) as saved:
          header = json.loads(saved[HEADER].tobytes())
      except Exception:  # a damaged chunk holds no run
        continue
      if header.get("fingerprint") == stamp:
        total += int(header["stop"]) - int(header["start"])
  return total
