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
- With `out`, each finished chunk is written atomically (write, then rename) under
  out/chunks/; a sweep restarted with the same arguments loads them and computes only the
  rest, so the final result equals an uninterrupted sweep.
"""
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

from jaxopt_lab.sweeps import store
from jaxopt_lab.sweeps.objective import Objective

DEFAULT_MEMORY_BUDGET = 4 << 30  # bytes for one chunk's buffers


class SweepResult(NamedTuple):
  table: pd.DataFrame            # one row per (configuration, seed)
  curves: dict                   # curve name -> array [rows, length]
  scalars: dict                  # scalar metric name -> array [rows]
  seconds: float                 # wall time of the chunks computed in this call
  chunks_computed: int           # chunks computed now (the rest were loaded from `out`)
  chunk_size: int


def rows_of(columns: dict, seeds: Sequence[int]):
  """Configurations x seeds flattened: (hyperparameter columns [K*S], seeds [K*S], config ids)."""
  count = len(next(iter(columns.values()))) if columns else 1
  if any(len(v) != count for v in columns.values()):
    raise ValueError("run_sweep: every hyperparameter column must have the same length, got "
                     + ", ".join(f"{k}: {len(v)}" for k, v in columns.items()))
  seeds = np.asarray(seeds, np.int64)
  if seeds.ndim != 1 or seeds.size == 0:
    raise ValueError(f"run_sweep: seeds must be a non-empty list of integers, got {seeds!r}")
  config = np.repeat(np.arange(count), seeds.size)
  flat = {name: np.asarray(values, np.float64)[config] for name, values in columns.items()}
  return flat, np.tile(seeds, count).astype(np.uint32), config


_COMPILED = weakref.WeakKeyDictionary()  # run -> {(chunk, devices): compiled program}


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


# XLA:CPU's LLVM at optimisation level 1 instead of its default compiles a vmapped digits-MLP
# sweep 2.3x faster (1.1 s instead of 2.6 s) and runs it as fast (benchmarks/sweep.py, 2 cores)
CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def compiled_program(run, flat, seeds, chunk, mesh, dtype):
  """The run vmapped over a chunk of rows, traced and compiled once per (run, chunk shape)."""
  cache = _COMPILED.setdefault(run, {})
  key = (chunk, None if mesh is None else mesh.devices.size, dtype, tuple(sorted(flat)))
  if key not in cache:
    lowered = _program(run, mesh).lower(*_inputs(flat, seeds, 0, chunk, mesh, dtype))
    options = CPU_COMPILER_OPTIONS if jax.default_backend() == "cpu" else {}
    cache[key] = lowered.compile(compiler_options=options)
  return cache[key]


def chunk_for_budget(run, flat, seeds, mesh, dtype, budget: int, largest: int = 4096) -> int:
  """The largest chunk (a multiple of the device count, at most `largest` rows) whose buffers
  fit in `budget` bytes, from XLA's memory analysis (argument + output + temporary bytes).

  The program is compiled for every row at once (up to `largest`); only if that does not fit
  is it compiled again, for the chunk that does (memory grows linearly in the rows).
  """
  devices = 1 if mesh is None else mesh.devices.size
  probe = min(_round_up(len(seeds), devices), _round_up(largest, devices))
  memory = compiled_program(run, flat, seeds, probe, mesh, dtype).memory_analysis()
  used = memory.argument_size_in_bytes + memory.output_size_in_bytes + memory.temp_size_in_bytes
  if used <= budget:
    return probe
  return max(devices, int(budget * probe // max(used, 1)) // devices * devices)


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
  in `memory_budget` bytes); `mesh` shards them over devices ("auto": all devices); `out`
  makes the sweep resumable; `description` names the run for the resume check; `objective`
  (a task's) says which curves flag divergence and which are better high (see `summarise`).
  """
  flat, seed_rows, config = rows_of(columns, seeds)
  mesh = default_mesh() if mesh == "auto" else mesh
  devices = 1 if mesh is None else mesh.devices.size
  if chunk_size is None:
    chunk_size = chunk_for_budget(run, flat, seed_rows, mesh, dtype, memory_budget)
  elif chunk_size < 1 or chunk_size % devices:
    raise ValueError(f"run_sweep(chunk_size={chunk_size}): chunk_size must be a positive "
                     f"multiple of the device count {devices}")
  rows = len(seed_rows)
  starts = range(0, rows, chunk_size)
  writer = jax.process_index() == 0
  chunk_dir = None
  if out is not None:
    out = Path(out)
    stamp = {"fingerprint": store.fingerprint(flat, seed_rows, chunk_size, description),
             "description": description, "rows": rows, "chunk_size": chunk_size}
    if writer:
      store.claim_folder(out, stamp)
    chunk_dir = out / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)

  pieces, computed, seconds = [], 0, 0.0
  bar = tqdm(total=rows, unit="config", desc="sweep", disable=not (progress and writer),
             dynamic_ncols=True)
  for number, start in enumerate(starts):
    path = store.chunk_path(chunk_dir, number) if chunk_dir else None
    size = min(chunk_size, rows - start)
    saved = store.load_chunk(path) if path is not None else None
    if saved is not None:
      pieces.append(saved)
      bar.update(size)
      continue
    program = compiled_program(run, flat, seed_rows, chunk_size, mesh, dtype)
    began = time.perf_counter()
    metrics = _to_host(program(*_inputs(flat, seed_rows, start, chunk_size, mesh, dtype)))
    seconds += time.perf_counter() - began
    computed += 1
    piece = {name: np.asarray(value)[:size] for name, value in metrics.items()}
    if path is not None and writer:
      store.save_chunk(path, piece)
    pieces.append(piece)
    bar.update(size)
    bar.set_postfix_str(f"{computed * chunk_size / max(seconds, 1e-9):.1f} configs/s")
  bar.close()

  metrics = {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
  curves = {k: v for k, v in metrics.items() if v.ndim == 2}
  scalars = {k: v for k, v in metrics.items() if v.ndim == 1}
  table = summarise(flat, seed_rows, config, curves, scalars, objective)
  return SweepResult(table, curves, scalars, seconds, computed, chunk_size)


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
