"""Vmapped hyperparameter sweeps: many training runs in one compiled program.

A run is a pure function `run(hparams, key) -> metrics`: `hparams` maps names to scalars,
`metrics` maps names to arrays; 1-D arrays are curves (per step or per evaluation), scalars
final numbers. `run_sweep` (its docstring is the contract) runs every configuration with
every seed, chunk by chunk, compiled once per chunk shape for any values:

  result = run_sweep(run, {"learning_rate": np.logspace(-4, -1, 64)}, seeds=[0, 1, 2])
  result.table   # pandas: one row per (configuration, seed): hyperparameters, seed,
                 # final_* and best_* of every curve, diverged
  result.curves  # {"train_loss": [rows, steps], ...}

- A chunk is whole configurations x every seed: the configurations are vmapped inside a vmap
  over the seeds with the key unbatched, so within a seed every configuration shares its
  initialisation and minibatch order (common random numbers: paired comparisons), computed
  once per seed.
- Chunks are sized to a memory budget from XLA's own memory analysis of the program, and on a
  CPU to its cache: the state a chunk's training loops carry stays within an eighth of the
  last-level cache, which runs 1024 digits-MLP runs 1.9x faster than one chunk (`memory`).
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
  compiled program of a chunk: its configurations per device and number of seeds, and the
  jax/jaxlib versions and device. In XLA:CPU a vmapped digits MLP gives bit-identical rows for
  some chunk sizes and differs in the last bit (up to 5e-7 on a loss) for others (batched
  matrix products are compiled per batch size). A resumed sweep therefore reuses the chunk
  size its folder started with, and the chunk size is part of the folder's identity.
- Every input is checked before any compute (`inputs`): one ValueError line per bad input.
"""
import contextlib
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
from jaxopt_lab.sweeps import inputs, memory, store
from jaxopt_lab.sweeps.objective import Objective

DEFAULT_MEMORY_BUDGET = 4 << 30  # bytes for one chunk's buffers


class SweepResult(NamedTuple):
  table: pd.DataFrame            # one row per (configuration, seed)
  curves: dict                   # curve name -> array [rows, length]
  scalars: dict                  # scalar metric name -> array [rows]
  seconds: float                 # wall time of the chunks computed in this call
  chunks_computed: int           # chunks computed now (the rest were loaded from `out`)
  chunk_size: int                # rows per chunk: whole configurations, all seeds of each
  runs_loaded: int = 0           # runs loaded from `out` (a resumed sweep), not computed


class SweepInterrupted(KeyboardInterrupt):
  """Ctrl-C during `run_sweep`; its message says how many runs are saved and how to resume."""


def rows_of(columns: dict, seeds: Sequence[int], dtype=jnp.float32):
  """Configurations x seeds flattened: (hyperparameter columns [K*S], seeds [K*S], config ids),
  each input checked (see `inputs`)."""
  return inputs.rows(columns, seeds, inputs.sweep_dtype(dtype))


class Program(NamedTuple):
  compiled: jax.stages.Compiled
  lowered: jax.stages.Lowered    # its text: the sweep's identity
  out_info: dict                 # its outputs' shapes and dtypes: the metrics (read once)
  bytes: int                     # XLA's estimate of its memory, analysed once


_COMPILED = weakref.WeakKeyDictionary()  # run -> {(rows, seeds, devices, dtype, names): Program,
                                         #         ("cache", unit, devices, dtype, names): rows}


def _program(run: Callable, mesh: Optional[Mesh]):
  """The run over a chunk: hyperparameters [seeds, configurations], seeds [seeds] -> metrics
  [seeds, configurations, ...]. The configurations are vmapped inside a vmap over the seeds,
  with the key unbatched there: what depends on the key alone (initialisation, shuffles,
  minibatch gathers) is computed once per seed, not once per configuration."""
  def per_seed(hparams, seed):
    key = jax.random.key(seed)
    return jax.vmap(lambda row: run(row, key))(hparams)

  if mesh is None:
    return jax.jit(jax.vmap(per_seed))
  configs = NamedSharding(mesh, PartitionSpec(None, "configs"))
  return jax.jit(jax.vmap(per_seed), in_shardings=(configs, NamedSharding(mesh, PartitionSpec())),
                 out_shardings=configs)


def _global_array(values: np.ndarray, mesh: Optional[Mesh], spec=PartitionSpec(None, "configs")):
  if mesh is None:
    return jnp.asarray(values)
  sharding = NamedSharding(mesh, spec)
  return jax.make_array_from_callback(values.shape, sharding, lambda index: values[index])


def _inputs(flat, seeds, start, size, mesh, dtype):
  """Rows [start, start + size) (whole configurations, each with all its seeds), padded with
  copies of the last configuration, as hyperparameters [seeds, configurations] and seeds."""
  count = _seed_count(seeds)
  configs = np.minimum(np.arange(start // count, (start + size) // count),
                       len(seeds) // count - 1)
  index = configs[None, :] * count + np.arange(count)[:, None]   # [seeds, configurations]
  hparams = {k: _global_array(v[index].astype(dtype), mesh) for k, v in flat.items()}
  return hparams, _global_array(seeds[:count], mesh, PartitionSpec())


def _seed_count(seeds: np.ndarray) -> int:
  """The number of seeds of the rows: configuration-major, each configuration's distinct
  seeds in the same order, so the first seed comes back after that many rows."""
  again = np.flatnonzero(seeds[1:] == seeds[0])
  return int(again[0]) + 1 if again.size else len(seeds)


def _rows(metrics) -> dict:
  """Metrics [seeds, configurations, ...] as rows [configurations x seeds, ...]."""
  return {name: np.swapaxes(np.asarray(value), 0, 1).reshape(-1, *np.shape(value)[2:])
          for name, value in metrics.items()}


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
  """The run over a chunk of `chunk` rows (whole configurations x every seed), traced,
  compiled and its memory analysed once per (run, chunk shape)."""
  cache = _COMPILED.setdefault(run, {})
  key = (chunk, _seed_count(seeds), None if mesh is None else mesh.devices.size,
         np.dtype(dtype), tuple(sorted(flat)))
  if key not in cache:
    lowered = _program(run, mesh).lower(*_inputs(flat, seeds, 0, chunk, mesh, dtype))
    options = CPU_COMPILER_OPTIONS if jax.default_backend() == "cpu" else {}
    compiled = lowered.compile(compiler_options=options)
    memory = compiled.memory_analysis()
    used = memory.argument_size_in_bytes + memory.output_size_in_bytes \
        + memory.temp_size_in_bytes
    cache[key] = Program(compiled, lowered, lowered.out_info, int(used))
  return cache[key]


def _cache_chunk(run, flat, seeds, unit, devices, dtype) -> Optional[int]:
  """`memory.cache_chunk` for this run, traced once per (run, unit, devices, dtype, names)."""
  cache = _COMPILED.setdefault(run, {})
  key = ("cache", unit, devices, np.dtype(dtype), tuple(sorted(flat)))
  if key not in cache:
    cache[key] = memory.cache_chunk(run, {k: v[:1].astype(dtype)[0] for k, v in flat.items()},
                                    jax.random.key(int(seeds[0])), unit, devices)
  return cache[key]


def default_mesh(configurations: Optional[int] = None) -> Optional[Mesh]:
  """A 1-D mesh over every device when there are several, else None (plain jit). On one
  host, at most one device per configuration: a device beyond them would only run padding
  (K = 1 ran 3x slower over 2 host devices than on one)."""
  devices = jax.devices()
  if configurations is not None and jax.process_count() == 1:
    devices = devices[:max(1, configurations)]
  return Mesh(np.array(devices), ("configs",)) if len(devices) > 1 else None


def run_sweep(run: Callable, columns: dict, seeds: Sequence[int] = (0,), *,
              chunk_size: Optional[int] = None, memory_budget: int = DEFAULT_MEMORY_BUDGET,
              mesh: Optional[Mesh] = "auto", out: Optional[Path] = None,
              description: str = "", dtype=jnp.float32, progress: bool = True,
              objective: Optional[Objective] = None) -> SweepResult:
  """Runs `run(hparams, key)` for every configuration and seed, in one compiled program.

  The contract:
  - `run(hparams, key) -> metrics` is a pure JAX function, traced once per chunk shape.
    `hparams` maps each name of `columns` to a scalar (shape (), `dtype`), a tracer: never
    branch on it in Python. `key` is `jax.random.key(seed)`, a typed PRNG key (shape ()).
    `metrics` maps names to arrays of one run: scalars (shape ()) and curves (shape [n]:
    per step, [steps], or per evaluation, [evals]); anything else is refused in one line.
  - `columns`: name -> values [K], one configuration per index (e.g. from
    `space.configurations`); `seeds`: S distinct integers in [0, 2**32 - 1]. The sweep runs
    K x S runs, configuration-major: row r is configuration r // S with seed seeds[r % S].
  - Common random numbers: within one seed every configuration gets the same key, so the same
    initialisation, minibatch order and noise: comparisons between configurations are
    paired (their differences carry no sampling noise of the seed), and what depends on the
    key alone is computed once per seed, not once per configuration (the configurations are
    vmapped inside a vmap over the seeds, with the key unbatched).
  - Returns `SweepResult`: `table` (pandas, one row per run: `config` (0..K-1), the
    hyperparameters, `seed`, `final_<c>` and (with an `objective`) `best_<c>` of each curve c,
    each scalar metric, and `diverged`; see `summarise`), `curves` {name: [K*S, n]},
    `scalars` {name: [K*S]}, `seconds` (the chunks computed in this call), `chunks_computed`,
    `chunk_size` and `runs_loaded` (from `out`).
  - Chunks: `chunk_size` rows (at most; rounded down to whole configurations, a multiple of
    S x devices) per call of the compiled program; by default as many as fit in
    `memory_budget` bytes by XLA's memory analysis (analysed once per chunk shape) and, on a
    CPU, keep the state the run's loops carry in cache (`memory.cache_chunk`), in chunks of
    equal size; or the chunk size `out` was started with.
  - `out`: a folder that makes the sweep resumable and identified (see `store`): each finished
    chunk is saved with the sweep's fingerprint; the same call after an interruption loads the
    verified chunks, computes the rest and says so ("resumed: 96 of 128 runs loaded, 32
    computed"); a folder holding another sweep is refused. `description` names the sweep in
    its manifest. Ctrl-C raises `SweepInterrupted`, saying how many runs are saved.
  - `mesh` ("auto": every device, when there are several, at most one per configuration on
    one host): the configuration axis of each chunk is sharded over a 1-D Mesh ("configs");
    after `jax.distributed.initialize()` every process calls run_sweep alike and process 0
    writes `out`. On a CPU, one host device per core (`host.use_every_core()`, before JAX
    starts) lets the mesh use every core.
  - `objective` (a task's) says which curves flag divergence and which are better high;
    `dtype`: the hyperparameters' precision (float32, or float64 with x64 on); `progress`: a
    progress bar counting runs, in runs/s.
  Every input is checked before anything runs (`inputs`): one ValueError line naming it.
  """
  if not callable(run):
    raise ValueError(f"run_sweep(run={run!r}): run must be a function (hparams, key) -> "
                     f"metrics, got {type(run).__name__}")
  dtype = inputs.sweep_dtype(dtype)
  flat, seed_rows, config = inputs.rows(columns, seeds, dtype)
  if isinstance(mesh, str) and mesh == "auto":
    mesh = default_mesh(int(config[-1]) + 1)
  devices = 1 if mesh is None else mesh.devices.size
  unit = _seed_count(seed_rows) * devices   # rows of one configuration per device
  chunk_size = inputs.chunk_size(chunk_size, devices)
  if chunk_size is not None:  # a chunk beyond the rows would only compute padding
    chunk_size = memory.whole_configurations(
        min(chunk_size, memory.round_up(len(seed_rows), unit)), unit)
  memory_budget = inputs.memory_budget(memory_budget, memory.device_memory())
  program_bytes = lambda rows: compiled_program(run, flat, seed_rows, rows, mesh, dtype).bytes
  writer = jax.process_index() == 0
  option = f"run_sweep(out={str(out)!r})"
  with contextlib.ExitStack() as stack:
    if out is not None:
      out = output_folder(option, out) if writer else Path(out)
      if writer:
        stack.enter_context(store.locked(out, option))
      if chunk_size is None:
        chunk_size = int(_from_writer(np.int64(_resumed_chunk(out, unit) if writer else 0),
                                      writer)) or None
    if chunk_size is None:
      cached = _cache_chunk(run, flat, seed_rows, unit, devices, dtype)
      largest = int(_from_writer(np.int64(cached or 0), writer)) or memory.LARGEST_CHUNK
      chunk_size = memory.chunk_for_budget(program_bytes, len(seed_rows), unit, memory_budget,
                                           largest)
    memory.checked_chunk(program_bytes, chunk_size, memory_budget)
    program = compiled_program(run, flat, seed_rows, chunk_size, mesh, dtype)
    spec = inputs.metric_spec(program.out_info, list(flat), objective)
    memory.check_host_memory(spec, len(seed_rows))
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
  computed = [p for p in pieces if isinstance(p, _Computed)]
  return SweepResult(table, curves, scalars, sum(p.seconds for p in computed), len(computed),
                     chunk_size, len(seed_rows) - sum(p.runs for p in computed))


def _resumed_chunk(out: Path, unit: int) -> int:
  """The chunk size the sweep in `out` was started with (0 if none, or if it is not whole
  configurations per device, `unit` rows, here), to resume with it."""
  stored = store.read_manifest(out, warn=False)  # claim_folder warns, once
  identity = stored.get("identity") if stored else None
  size = identity.get("chunk_size", 0) if isinstance(identity, dict) else 0
  return size if isinstance(size, int) and size > 0 and size % unit == 0 else 0


class _Computed(dict):
  """A chunk's metrics computed in this call (a dict), with its runs and the seconds it took."""
  runs, seconds = 0, 0.0


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
  loaded = sum(b - a for a, b, p in zip(starts, stops, pieces) if p is not None)
  shown = progress and writer
  bar = tqdm(total=rows, initial=loaded, unit="run", desc="sweep", disable=not shown,
             dynamic_ncols=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/"
             "{total_fmt} runs [{elapsed}<{remaining}, {rate_noinv_fmt}]")
  try:
    for number, (start, stop) in enumerate(zip(starts, stops)):
      if pieces[number] is not None:
        continue
      began = time.perf_counter()
      metrics = _rows(_to_host(program.compiled(*_inputs(flat, seeds, start, chunk_size, mesh,
                                                         dtype))))
      piece = _Computed({name: metrics[name][:stop - start] for name in spec})
      piece.runs, piece.seconds = stop - start, time.perf_counter() - began
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
  if loaded and shown:
    tqdm.write(resumed_message(loaded, rows))
  return pieces


def resumed_message(loaded: int, rows: int) -> str:
  return f"resumed: {loaded} of {rows} runs loaded, {rows - loaded} computed"


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
