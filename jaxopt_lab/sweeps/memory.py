"""How many rows a sweep evaluates per call of its compiled program, and what memory it has.

A chunk holds whole configurations, each with every seed (the engine vmaps the configurations
inside a vmap over the seeds), and as many configurations per device on every device: its
rows are a multiple of seeds x devices. Its size comes from XLA's own memory analysis of the
compiled program (argument + output + temporary bytes), which grows linearly in the rows.
On a CPU the chunks are also kept small enough for the training state to stay in cache.
"""
import os
from pathlib import Path
from typing import Callable, Optional

import jax
import numpy as np
from jax.extend import core as jax_core


def whole_configurations(chunk_size: int, unit: int) -> int:
  """`chunk_size` rounded down to a multiple of `unit` (seeds x devices rows), at least one."""
  return max(unit, chunk_size // unit * unit)


LARGEST_CHUNK = 4096  # rows


def chunk_for_budget(program_bytes: Callable[[int], int], rows: int, unit: int, budget: int,
                     largest: int = LARGEST_CHUNK) -> int:
  """The largest chunk (a multiple of `unit` rows, at most about `largest`) whose program
  fits in `budget` bytes; `program_bytes(chunk)` compiles the program for `chunk` rows and
  returns XLA's estimate of its memory.

  The program is compiled for every row at once (or, above `largest`, for equal chunks that
  cover the rows with the least padding); only if that does not fit is it compiled again, for
  the chunk that does. A run so large that one configuration (every seed) per device does not
  fit is refused with one line, before it runs.
  """
  probe = balanced(rows, whole_configurations(largest, unit), unit)
  used = program_bytes(probe)
  if used <= budget:
    return probe
  if used * unit > budget * probe:
    raise ValueError(f"run_sweep(memory_budget={budget}): memory_budget must hold one "
                     f"configuration's runs (one per seed) per device, which needs "
                     f"{gib(used * unit / probe)} (XLA's estimate), got {gib(budget)}; make "
                     f"the run smaller (fewer steps or evaluations, a smaller model), use fewer "
                     f"seeds or raise the budget (--memory-gb)")
  return whole_configurations(int(budget * probe // max(used, 1)), unit)


# On a CPU, the state every local device carries through a training loop is kept within 1/8 of
# the last-level cache: the step's temporaries take about as much again as the state (XLA's
# memory analysis of the digits MLP: 130 kB per run for 62 kB carried), and the devices
# (cores) share the cache. A chunk of 1024 digits-MLP runs on 2 cores took 14.3 s; chunks of
# 16 to 128 runs (0.5 to 4 MB carried per device) 7.4 to 8.2 s (benchmarks/sweep.py).
CACHE_SHARE = 8
ASSUMED_CACHE = 8 << 20  # where the cache size cannot be read (no /sys: macOS, Windows)


def cache_chunk(run: Callable, hparams: dict, key: jax.Array, unit: int,
                devices: int) -> Optional[int]:
  """On a CPU, the largest chunk (a multiple of `unit` rows) whose loop-carried state, over
  this process's devices, fits in CACHE_SHARE-th of the last-level cache; None on other
  backends and for a run without a loop. `hparams`, `key`: one run's inputs, traced (not run)
  to read the state its scan and while loops carry."""
  if jax.default_backend() != "cpu":
    return None
  per_run = carried_bytes(jax.make_jaxpr(run)(hparams, key).jaxpr)
  if per_run == 0:
    return None
  sharing = min(jax.local_device_count(), devices)   # this host's devices that run the chunk
  runs_per_device = (last_level_cache() or ASSUMED_CACHE) // (CACHE_SHARE * per_run * sharing)
  return whole_configurations(runs_per_device * devices, unit)


def carried_bytes(jaxpr) -> int:
  """Bytes of the largest state that one scan or while loop of `jaxpr` (nested ones included)
  carries from one iteration to the next."""
  largest = 0
  for equation in jaxpr.eqns:
    params = equation.params
    if equation.primitive.name == "scan":
      first = params["num_consts"]
      largest = max(largest, _bytes(equation.invars[first:first + params["num_carry"]]))
    elif equation.primitive.name == "while":
      largest = max(largest, _bytes(
          equation.invars[params["cond_nconsts"] + params["body_nconsts"]:]))
    for value in params.values():
      for inner in value if isinstance(value, (tuple, list)) else (value,):
        if isinstance(inner, (jax_core.ClosedJaxpr, jax_core.Jaxpr)):
          largest = max(largest, carried_bytes(getattr(inner, "jaxpr", inner)))
  return largest


def _bytes(variables) -> int:
  sizes = [np.prod(v.aval.shape, dtype=np.int64) * v.aval.dtype.itemsize for v in variables
           if isinstance(getattr(v.aval, "dtype", None), np.dtype)]
  return int(sum(sizes))


def last_level_cache(caches: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> Optional[int]:
  """Bytes of the largest CPU cache (Linux's /sys), or None where it cannot be read."""
  sizes = []
  for entry in caches.glob("index*/size"):
    try:
      text = entry.read_text().strip()
    except OSError:
      continue
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    digits = text.rstrip("KMGkmg")
    if digits.isdigit():
      sizes.append(int(digits) * scale)
  return max(sizes, default=None)


def balanced(rows: int, largest: int, unit: int) -> int:
  """The chunk (a multiple of `unit`, at most `largest`, itself one) that covers `rows` in
  as few chunks as `largest` does, padding the last one least: 1024 rows at most 66 a chunk
  are 16 chunks of 64, not 15 of 66 and a 16th of 34 rows padded to 66."""
  count = -(-rows // largest)
  return min(largest, round_up(-(-rows // count), unit))


def checked_chunk(program_bytes: Callable[[int], int], chunk_size: int, budget: int) -> int:
  """`chunk_size` if its program fits in `budget` bytes, else a one-line ValueError."""
  used = program_bytes(chunk_size)
  if used > budget:
    raise ValueError(f"run_sweep(chunk_size={chunk_size}): chunk_size must fit in "
                     f"memory_budget {gib(budget)}, but its program needs {gib(used)} "
                     f"(XLA's estimate); choose fewer rows per chunk or a larger budget")
  return chunk_size


def check_host_memory(spec: dict, rows: int) -> None:
  """The metrics of every run come back to the host: refuse a sweep whose results (twice: the
  chunks and their concatenation) do not fit in the host's memory, before it runs."""
  per_run = sum(np.prod(shape, dtype=np.int64) * dtype.itemsize for shape, dtype in spec.values())
  needed, available = 2 * rows * int(per_run), host_memory()
  if available is not None and needed > available:
    raise ValueError(f"run_sweep(columns=..., seeds=...): the results of {rows} runs must fit "
                     f"in host memory ({gib(available)}), but they need {gib(needed)}; run "
                     f"fewer configurations or seeds, or shorter curves")


def device_memory() -> Optional[int]:
  """Bytes of memory of this process's first device (its allocator's limit; the host's RAM
  for a CPU), or None where it cannot be told."""
  stats = jax.local_devices()[0].memory_stats() or {}
  return int(stats["bytes_limit"]) if "bytes_limit" in stats else host_memory()


def host_memory() -> Optional[int]:
  """Bytes of RAM of this host, or None where it cannot be told."""
  try:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (AttributeError, ValueError, OSError):
    return None


def gib(size: float) -> str:
  return f"{size / (1 << 30):.3g} GiB"


def round_up(n: int, multiple: int) -> int:
  return -(-n // multiple) * multiple
