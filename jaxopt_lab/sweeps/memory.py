"""How many rows a sweep evaluates per call of its compiled program, and what memory it has.

A chunk holds whole configurations, each with every seed (the engine vmaps the configurations
inside a vmap over the seeds), and as many configurations per device on every device: its
rows are a multiple of seeds x devices. Its size comes from XLA's own memory analysis of the
compiled program (argument + output + temporary bytes), which grows linearly in the rows.
"""
import os
from typing import Callable, Optional

import jax
import numpy as np


def whole_configurations(chunk_size: int, unit: int) -> int:
  """`chunk_size` rounded down to a multiple of `unit` (seeds x devices rows), at least one."""
  return max(unit, chunk_size // unit * unit)


def chunk_for_budget(program_bytes: Callable[[int], int], rows: int, unit: int, budget: int,
                     largest: int = 4096) -> int:
  """The largest chunk (a multiple of `unit` rows, at most about `largest`) whose program
  fits in `budget` bytes; `program_bytes(chunk)` compiles the program for `chunk` rows and
  returns XLA's estimate of its memory.

  The program is compiled for every row at once (up to `largest`); only if that does not fit
  is it compiled again, for the chunk that does. A run so large that one configuration (every
  seed) per device does not fit is refused with one line, before it runs.
  """
  probe = min(round_up(rows, unit), whole_configurations(largest, unit))
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
