"""Vmapped hyperparameter sweeps: many training runs in one compiled program.

A run is a pure function `run(hparams, key) -> metrics`: `hparams` maps names to scalars,
`metrics` maps names to arrays; 1-D arrays are curves (per step or per evaluation), scalars
final numbers. `run_sweep` flattens configurations x seeds into one axis, vmaps the run over
it, and evaluates it chunk by chunk, compiled once per chunk shape for any values:

  result = run_sweep(run, {"learning_rate": np.logspace(-4, -1, 64)}, seeds=[0, 1, 2])
  result.table   # pandas: one row per (configuration, seed): hyperparameters, seed,
                 # final_* and best_* of every curve, diverged
  result.curves  # {"train_loss": [rows, steps], ...}

- Chunks are sized to a memory budget from XLA's own memory analysis of the program.
- With several devices the configuration axis is sharded over a 1-D Mesh ("configs") with
  NamedSharding; with several hosts (after `jax.distributed.initialize()`) every process
  builds the same global arrays and the same program, and process 0 writes the files.
- A run whose loss goes NaN/Inf is flagged `diverged`; lanes of a vmap never mix, so every
  other row is bit-identical to a sweep without it.
- With `out`, each finished chunk is written atomically (unique temporary name, fsync, then
  rename) under out/chunks/, with its identity (see `store`); the same call after an
  interruption (Ctrl-C: `SweepInterrupted`, or a kill) loads the verified chunks and computes
  only the rest, so the final result equals an uninterrupted sweep, bit for bit.
- What the numbers depend on: the run, its hyperparameters and seeds, the dtype, and the
  compiled program of a chunk: its rows per device (chunk size / device count) and the
  jax/jaxlib versions and device. In XLA:CPU a vmapped digits MLP gives bit-identical rows for
  chunks of 2, 3 and 4 rows, but chunks of 1 and of 12 rows differ from them in the last bit
  (up to 5e-7 on a loss; batched matrix products are compiled per batch size). A resumed
  sweep therefore reuses the chunk size its folder started with, and the chunk size is part of
  the folder's identity.
- Every input is checked before any compute (`inputs`): one ValueError line per bad input.
"""
import contextlib
import os
import time
import warnings
import weakref
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from jaxopt_lab.files import output_folder
from jaxopt_lab.sweeps import inputs, store
from jaxopt_lab.sweeps.objective import Objective

DEFAULT_MEMORY_BUDGET = 4 << 30  # bytes for one chunk's buffers


class SweepResult(NamedTuple):
  table: pd.DataFrame            # one row per (configuration, seed)
  curves: dict                   # curve name -> array [rows, length]
  scalars: dict                  # scalar metric name -> array [rows]
  seconds: float                 # wall time of the chunks computed in this call
  chunks_computed: int           # chunks computed now (the rest were loaded from `out`)
  chunk_size: int


class SweepInterrupted(KeyboardInterrupt):
  """Ctrl-C during `run_sweep`; its message says how many runs are saved and how to resume."""


def rows_of(columns: dict, seeds: Sequence[int], dtype=jnp.float32):
  """Configurations x seeds flattened: (hyperparameter columns [K*S], seeds [K*S], config ids),
  each input checked (see `inputs`)."""
  return inputs.rows(columns, seeds, inputs.sweep_dtype(dtype))


class Program(NamedTuple):
  compiled: jax.stages.Compiled
  lowered: jax.stages.Lowered    # its text and out_info: the sweep's identity and metrics


_COMPILED = weakref.WeakKeyDictionary()  # run -> {(chunk, devices, dtype, names): Program}


def _program(run: Callable, mesh: Optional[Mesh]):
  def one(hparams, seed):
    return run(hparams, jax.random.key(seed))

  if mesh is None:
    return jax.jit(jax.vmap(one))
  sharded = NamedSharding(mesh, PartitionSpec("configs"))
  return jax.jit(jax.vmap(one), in_shardings=sharded, out_shardings=sharded)


def _global_array(values: np.ndarray, mesh: Optional[Mesh]):
  if mesh is None:
    return jnp.asarray(values)
  sharding = NamedSharding(mesh, PartitionSpec("configs"))
  return jax.make_array_from_callback(values.shape, sharding, lambda index: values[index])


def _inputs(flat, seeds, start, size, mesh, dtype):
  """Rows [start, start + size), padded with copies of the last row to a full chunk."""
  index = np.minimum(np.arange(start, start + size), len(seeds) - 1)
  hparams = {k: _global_array(v[index].astype(dtype), mesh) for k, v in flat.items()}
  return hparams, _global_array(seeds[index], mesh)


def _to_host(tree):
  if jax.process_count() > 1:
    return multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree.map(np.asarray, tree)


def _from_writer(tree, writer: bool):
  """Process 0's value of `tree` on every process (multi-host), so that all of them compute
  the same chunks; `tree` itself on a single host."""
  if jax.process_count() == 1:
    return tree
  return jax.tree.map(np.asarray, multihost_utils.broadcast_one_to_all(tree, is_source=writer))


# XLA:CPU's LLVM at optimisation level 1 instead of its default compiles a vmapped digits-MLP
# sweep 2.3x faster (1.1 s instead of 2.6 s) and runs it as fast (benchmarks/sweep.py, 2 cores)
CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def compiled_program(run, flat, seeds, chunk, mesh, dtype) -> Program:
  """The run vmapped over a chunk of rows, traced and compiled once per (run, chunk shape)."""
  cache = _COMPILED.setdefault(run, {})
  key = (chunk, None if mesh is None else mesh.devices.size, np.dtype(dtype), tuple(sorted(flat)))
  if key not in cache:
    lowered = _program(run, mesh).lower(*_inputs(flat, seeds, 0, chunk, mesh, dtype))
    options = CPU_COMPILER_OPTIONS if jax.default_backend() == "cpu" else {}
    cache[key] = Program(lowered.compile(compiler_options=options), lowered)
  return cache[key]


def _bytes(program: Program) -> int:
  """XLA's estimate of a chunk's memory: argument + output + temporary bytes."""
  memory = program.compiled.memory_analysis()
  return memory.argument_size_in_bytes + memory.output_size_in_bytes + memory.temp_size_in_bytes


def chunk_for_budget(run, flat, seeds, mesh, dtype, budget: int, largest: int = 4096) -> int:
  """The largest chunk (a multiple of the device count, at most `largest` rows) whose buffers
  fit in `budget` bytes, from XLA's memory analysis (argument + output + temporary bytes).

  The program is compiled for every row at once (up to `largest`); only if that does not fit
  is it compiled again, for the chunk that does (memory grows linearly in the rows). A run
  so large that one row per device does not fit is refused with one line, before it runs.
  """
  devices = 1 if mesh is None else mesh.devices.size
  probe = min(_round_up(len(seeds), devices), _round_up(largest, devices))
  used = _bytes(compiled_program(run, flat, seeds, probe, mesh, dtype))
  if used <= budget:
    return probe
  if used * devices > budget * probe:
    raise ValueError(f"run_sweep(memory_budget={budget}): memory_budget must hold one run per "
                     f"device, which needs {_gib(used / probe)} (XLA's estimate), got "
                     f"{_gib(budget)}; make the run smaller (fewer steps or evaluations, a "
                     f"smaller model) or raise the budget (--memory-gb)")
  return max(devices, int(budget * probe // max(used, 1)) // devices * devices)


def device_memory() -> Optional[int]:
  """Bytes of memory of the first device (its allocator's limit; the host's RAM for a CPU),
  or None where it cannot be told."""
  stats = jax.devices()[0].memory_stats() or {}
  return int(stats["bytes_limit"]) if "bytes_limit" in stats else host_memory()


def host_memory() -> Optional[int]:
  """Bytes of RAM of this host, or None where it cannot be told."""
  try:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (AttributeError, ValueError, OSError):
    return None


def _gib(size: float) -> str:
  return f"{size / (1 << 30):.3g} GiB"


def _round_up(n, multiple):
  return -(-n // multiple) * multiple


def default_mesh() -> Optional[Mesh]:
  """A 1-D mesh over every device when there are several, else None (plain jit)."""
  devices = jax.devices()
  return Mesh(np.array(devices), ("configs",)) if len(devices) > 1 else None


def run_sweep(run: Callable, columns: dict, seeds: Sequence[int] = (0,), *,
              chunk_size: Optional[int] = None, memory_budget: int = DEFAULT_MEMORY_BUDGET,
              mesh: Optional[Mesh] = "auto", out: Optional[Path] = None,
              description: str = "", dtype=jnp.float32, progress: bool = True,
              objective: Optional[Objective] = None) -> SweepResult:
  """Runs `run` for every configuration (columns: name -> values [K]) and seed.

  `chunk_size` rows are evaluated per call of the compiled program (default: as many as fit
  in `memory_budget` bytes, or the chunk size `out` was started with); `mesh` shards them over
  devices ("auto": all devices); `out` makes the sweep resumable (see `store`); `description`
  names the sweep in `out`'s manifest; `objective` (a task's) says which curves flag
  divergence and which are better high (see `summarise`); `dtype` is the hyperparameters'
  (float32, or float64 with x64 on). Every input is checked before anything runs (`inputs`);
  Ctrl-C raises `SweepInterrupted`, saying how many runs are saved in `out`.
  """
  if not callable(run):
    raise ValueError(f"run_sweep(run={run!r}): run must be a function (hparams, key) -> "
                     f"metrics, got {type(run).__name__}")
  dtype = inputs.sweep_dtype(dtype)
  flat, seed_rows, config = inputs.rows(columns, seeds, dtype)
  mesh = default_mesh() if isinstance(mesh, str) and mesh == "auto" else mesh
  devices = 1 if mesh is None else mesh.devices.size
  chunk_size = inputs.chunk_size(chunk_size, devices)
  if chunk_size is not None:  # a chunk beyond the rows would only compute padding
    chunk_size = min(chunk_size, _round_up(len(seed_rows), devices))
  memory_budget = inputs.memory_budget(memory_budget, device_memory())
  writer = jax.process_index() == 0
  option = f"run_sweep(out={str(out)!r})"
  with contextlib.ExitStack() as stack:
    if out is not None:
      out = output_folder(option, out) if writer else Path(out)
      if writer:
        stack.enter_context(store.locked(out, option))
      if chunk_size is None:
        chunk_size = int(_from_writer(np.int64(_resumed_chunk(out, devices) if writer else 0),
                                      writer)) or None
    chunk_size = _checked_chunk(run, flat, seed_rows, mesh, dtype, chunk_size, memory_budget)
    program = compiled_program(run, flat, seed_rows, chunk_size, mesh, dtype)
    spec = inputs.metric_spec(program.lowered.out_info, list(flat), objective)
    _check_host_memory(spec, len(seed_rows))
    stamp = None
    if out is not None and writer:
      identity = store.identity(program.lowered.as_text(), flat, seed_rows, chunk_size, dtype,
                                devices)
      stamp = store.claim_folder(out, identity, description, option)
      (out / "chunks").mkdir(exist_ok=True)
      store.remove_partial_files(out / "chunks")
    pieces = _computed(program, flat, seed_rows, chunk_size, mesh, dtype, spec,
                       out, stamp, writer, progress)
  metrics = {name: np.concatenate([p[name] for p in pieces]) for name in spec}
  curves = {k: v for k, v in metrics.items() if v.ndim == 2}
  scalars = {k: v for k, v in metrics.items() if v.ndim == 1}
  table = summarise(flat, seed_rows, config, curves, scalars, objective)
  computed = sum(isinstance(p, _Computed) for p in pieces)
  return SweepResult(table, curves, scalars, sum(getattr(p, "seconds", 0.0) for p in pieces),
                     computed, chunk_size)


def _resumed_chunk(out: Path, devices: int) -> int:
  """The chunk size the sweep in `out` was started with (0 if none), to resume with it."""
  stored = store.read_manifest(out, warn=False)  # claim_folder warns, once
  identity = stored.get("identity") if stored else None
  size = identity.get("chunk_size", 0) if isinstance(identity, dict) else 0
  return size if isinstance(size, int) and size > 0 and size % devices == 0 else 0


def _check_host_memory(spec: dict, rows: int) -> None:
  """The metrics of every run come back to the host: refuse a sweep whose results (twice: the
  chunks and their concatenation) do not fit in the host's memory, before it runs."""
  per_run = sum(np.prod(shape, dtype=np.int64) * dtype.itemsize for shape, dtype in spec.values())
  needed, available = 2 * rows * int(per_run), host_memory()
  if available is not None and needed > available:
    raise ValueError(f"run_sweep(columns=..., seeds=...): the results of {rows} runs must fit "
                     f"in host memory ({_gib(available)}), but they need {_gib(needed)}; run "
                     f"fewer configurations or seeds, or shorter curves")


def _checked_chunk(run, flat, seeds, mesh, dtype, chunk_size, budget) -> int:
  """`chunk_size` if its program fits in `budget` bytes, else a one-line ValueError; when
  None, the largest chunk that fits."""
  if chunk_size is None:
    return chunk_for_budget(run, flat, seeds, mesh, dtype, budget)
  used = _bytes(compiled_program(run, flat, seeds, chunk_size, mesh, dtype))
  if used > budget:
    raise ValueError(f"run_sweep(chunk_size={chunk_size}): chunk_size must fit in "
                     f"memory_budget {_gib(budget)}, but its program needs {_gib(used)} "
                     f"(XLA's estimate); choose fewer rows per chunk or a larger budget")
  return chunk_size


class _Computed(dict):
  """A chunk's metrics computed in this call (a dict), with the seconds it took."""
  seconds = 0.0


def _computed(program, flat, seeds, chunk_size, mesh, dtype, spec, out, stamp, writer,
              progress) -> list:
  """Every chunk's metrics: loaded from `out` when stored and verified, else computed (and
  then saved). Ctrl-C raises SweepInterrupted, saying how many runs are saved."""
  rows = len(seeds)
  starts = list(range(0, rows, chunk_size))
  stops = [min(start + chunk_size, rows) for start in starts]
  paths = [store.chunk_path(out / "chunks", n) for n in range(len(starts))] if out else []
  pieces = [store.load_chunk(path, stamp, start, stop, spec) if writer else None
            for path, start, stop in zip(paths, starts, stops)] or [None] * len(starts)
  pieces = _share_loaded(pieces, spec, starts, stops, writer)
  bar = tqdm(total=rows, unit="config", desc="sweep", disable=not (progress and writer),
             dynamic_ncols=True, initial=sum(b - a for a, b, p in zip(starts, stops, pieces)
                                             if p is not None))
  try:
    for number, (start, stop) in enumerate(zip(starts, stops)):
      if pieces[number] is not None:
        continue
      began = time.perf_counter()
      metrics = _to_host(program.compiled(*_inputs(flat, seeds, start, chunk_size, mesh, dtype)))
      piece = _Computed({name: np.asarray(metrics[name])[:stop - start] for name in spec})
      piece.seconds = time.perf_counter() - began
      if out is not None and writer:
        store.save_chunk(paths[number], piece, stamp, start, stop)
      pieces[number] = piece
      bar.update(stop - start)
  except KeyboardInterrupt:
    done = sum(b - a for a, b, p in zip(starts, stops, pieces) if p is not None)
    where = (f"{done} of {rows} runs are saved in {out}; the same call resumes from them"
             if out is not None else f"{done} of {rows} runs had finished; none is saved "
             f"(pass out= to make a sweep resumable)")
    raise SweepInterrupted(f"sweep interrupted: {where}") from None
  finally:
    bar.close()
  return pieces


def _share_loaded(pieces, spec, starts, stops, writer) -> list:
  """The chunks process 0 loaded, on every process (multi-host); `pieces` on a single host."""
  if jax.process_count() == 1:
    return pieces
  loaded = _from_writer(np.array([p is not None for p in pieces]), writer)
  shared = []
  for piece, start, stop, present in zip(pieces, starts, stops, loaded):
    if not present:
      shared.append(None)
      continue
    like = {name: np.zeros((stop - start, *shape), dtype) for name, (shape, dtype) in spec.items()}
    shared.append(_from_writer(piece if writer else like, writer))
  return shared


def summarise(flat, seeds, config, curves, scalars,
              objective: Optional[Objective] = None) -> pd.DataFrame:
  """One row per run: hyperparameters, seed, final_<curve> of each curve, scalars, diverged.

  With an `objective`, a run is `diverged` when one of its `divergence_curves` holds a NaN or
  Inf, and best_<curve> is each curve's best finite value: its largest for the objective's
  `maximized_curves`, its smallest for the others. Without one, any non-finite value in any
  curve flags divergence, and no best_ columns are written (which way is better is unknown).
  """
  table = pd.DataFrame({"config": config, **flat, "seed": seeds.astype(np.int64)})
  diverged = np.zeros(len(seeds), bool)
  watched = curves if objective is None else objective.divergence_curves
  for name, curve in curves.items():
    finite = np.isfinite(curve)
    if name in watched:
      diverged |= ~finite.all(axis=1)
    table[f"final_{name}"] = curve[:, -1]
    if objective is None:
      continue
    better = np.nanmax if name in objective.maximized_curves else np.nanmin
    with warnings.catch_warnings():  # a run with no finite value at all gives NaN
      warnings.simplefilter("ignore", RuntimeWarning)
      table[f"best_{name}"] = better(np.where(finite, curve, np.nan), axis=1)
  for name, value in scalars.items():
    table[name] = value
  table["diverged"] = diverged
  return table
