"""What `run_sweep` accepts, checked before anything is computed: each bad input is one
ValueError naming the parameter, the value and what is valid, in the standard form
`run_sweep(seeds[0]=-1): seeds must be integers in [0, 4294967295], got -1`.

  flat, seeds, config = rows(columns, seeds, dtype)   # configurations x seeds, flattened
  spec = metric_spec(out_info, list(flat), objective)  # the run's metrics, from its program

Rules: hyperparameters are finite real numbers that the sweep's dtype (float32, or float64
with x64 on) holds without overflow or flushing to zero; names never collide with the table's
own columns (config, seed, diverged, final_*/best_* of the curves, the scalar metrics); seeds
are distinct integers in [0, 2**32 - 1]; a metric is a real number or a curve per run.
"""
import math
from collections.abc import Mapping
from typing import Optional

import jax
import numpy as np

from jaxopt_lab.sweeps import store
from jaxopt_lab.sweeps.objective import Objective

RESERVED = ("config", "seed", "diverged", store.HEADER)  # the table's and the store's names
SEED_RANGE = "[0, 4294967295]"
MAX_RUNS = 2 ** 31 - 1  # rows of one sweep (int32 row indices)


def sweep_dtype(dtype) -> np.dtype:
  """The dtype hyperparameters are computed in: float32, or float64 when x64 is on."""
  try:
    chosen = np.dtype(dtype)
  except TypeError:
    chosen = None
  if chosen not in (np.float32, np.float64):
    shown = dtype if chosen is None else chosen
    raise ValueError(f"run_sweep(dtype={shown}): dtype must be float32 or float64 (the "
                     f"hyperparameters' precision: an integer dtype runs 0.1 as 0, bfloat16 "
                     f"runs 0.999 as 1.0), got {shown}")
  if chosen == np.float64 and not jax.config.jax_enable_x64:
    raise ValueError("run_sweep(dtype=float64): dtype must be float32 while jax_enable_x64 "
                     "is off (JAX would compute in float32), got float64")
  return chosen


def rows(columns, seeds, dtype: np.dtype):
  """Configurations x seeds flattened: (hyperparameter columns [K*S] as float64, seeds [K*S]
  as uint32, configuration ids [K*S])."""
  if not isinstance(columns, Mapping):
    raise ValueError(f"run_sweep(columns={type(columns).__name__}): columns must be a dict "
                     f"of name -> values, got {type(columns).__name__}")
  values = {name: _column(name, column, dtype) for name, column in columns.items()}
  count = len(next(iter(values.values()))) if values else 1
  if any(len(v) != count for v in values.values()):
    lengths = ", ".join(f"{k}: {len(v)}" for k, v in values.items())
    raise ValueError(f"run_sweep(columns=...): columns must have one length, got {lengths}")
  seeds = _seeds(seeds)
  if count * seeds.size > MAX_RUNS:
    raise ValueError(f"run_sweep(columns=..., seeds=...): configurations x seeds must be at "
                     f"most {MAX_RUNS} runs, got {count} x {seeds.size} = {count * seeds.size}")
  config = np.repeat(np.arange(count), seeds.size)
  flat = {name: column[config] for name, column in values.items()}
  return flat, np.tile(seeds, count).astype(np.uint32), config


def _column(name, column, dtype: np.dtype) -> np.ndarray:
  if not isinstance(name, str) or not name or name in RESERVED:
    raise ValueError(f"run_sweep(columns[{name!r}]): names must be non-empty strings other "
                     f"than {', '.join(RESERVED)} (the table's own columns), got {name!r}")
  try:
    array = np.asarray(column)
  except Exception:  # ragged lists and odd objects: not a column of numbers
    array = np.asarray(None)
  if array.dtype.kind not in "biuf" or array.ndim != 1 or array.size == 0:
    raise ValueError(f"run_sweep(columns[{name!r}]=...): values must be a non-empty 1-D "
                     f"list of real numbers, got {_describe(array)}")
  array = array.astype(np.float64)
  with np.errstate(over="ignore", under="ignore"):  # found and reported just below
    cast = array.astype(dtype)
  # inf is a value (early stopping's patience inf: never stop); NaN, a finite number that
  # overflows to inf, or one flushed to 0 would run as another value than the table shows
  bad = np.isnan(array) | (np.isfinite(array) & ~np.isfinite(cast)) | ((cast == 0) & (array != 0))
  if bad.any():
    index = int(np.argmax(bad))
    value = float(array[index])
    raise ValueError(f"run_sweep(columns[{name!r}][{index}]={value!r}): values must be numbers "
                     f"that {dtype} holds (not NaN; finite ones at most {np.finfo(dtype).max:.3g} "
                     f"and nonzero ones above its smallest normal {np.finfo(dtype).tiny:.3g}; "
                     f"inf is kept), got {value!r}")
  return array


def _describe(array: np.ndarray) -> str:
  if array.dtype.kind not in "biuf":
    return f"values of type {array.dtype}" if array.dtype != object else "non-numbers"
  return f"shape {array.shape}"


def _seeds(seeds) -> np.ndarray:
  try:
    array = np.asarray(seeds)
  except Exception:  # ragged lists and odd objects
    array = np.asarray(None)
  if array.ndim != 1 or array.size == 0:
    raise ValueError(f"run_sweep(seeds={seeds!r}): seeds must be a non-empty 1-D list of "
                     f"integers in {SEED_RANGE}, got {seeds!r}")
  for index, seed in enumerate(array.tolist()):
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
      raise ValueError(f"run_sweep(seeds[{index}]={seed!r}): seeds must be integers in "
                       f"{SEED_RANGE}, got {seed!r}")
  if len(set(array.tolist())) != array.size:
    repeated = next(s for s in array.tolist() if array.tolist().count(s) > 1)
    raise ValueError(f"run_sweep(seeds={array.tolist()}): seeds must be distinct (a repeated "
                     f"seed repeats the same run), got {repeated} more than once")
  return array.astype(np.int64)


def chunk_size(value: Optional[int], devices: int) -> Optional[int]:
  if value is None:
    return None
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1 \
      or value % devices:
    raise ValueError(f"run_sweep(chunk_size={value!r}): chunk_size must be a positive multiple "
                     f"of the device count {devices}, got {value!r}")
  return int(value)


def memory_budget(value, device_bytes: Optional[int]) -> int:
  """A positive number of bytes, at most the device's memory (when it can be told)."""
  limit = device_bytes or math.inf
  if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
      or not 0 < value <= limit:
    shown = "inf" if limit == math.inf else f"{int(limit)} (this device's memory)"
    raise ValueError(f"run_sweep(memory_budget={value!r}): memory_budget must be a number of "
                     f"bytes in (0, {shown}], got {value!r}")
  return int(value)


def metric_spec(out_info, hyperparameters, objective: Optional[Objective]) -> dict:
  """{name: (shape per run, dtype)} of the run's metrics, from the outputs of its vmapped
  program (`jax.stages.Lowered.out_info`, [seeds, configurations, ...]): each a real number or
  a curve (1-D) per run, named apart from the table's own columns; and the objective's columns
  among the table's."""
  if not isinstance(out_info, Mapping):
    raise ValueError(f"run_sweep(run=...): run must return a dict of metrics (name -> number "
                     f"or curve), got {type(out_info).__name__}")
  spec, taken = {}, set(RESERVED) | set(hyperparameters)
  for name, info in out_info.items():
    shape = tuple(getattr(info, "shape", (None, None, None, None)))[2:]
    dtype = np.dtype(getattr(info, "dtype", object)) if _plain(info) else None
    if not isinstance(name, str) or dtype is None or dtype.kind not in "biuf" \
        or len(shape) > 1 or 0 in shape:
      what = f"shape {shape}, dtype {getattr(info, 'dtype', type(info).__name__)}"
      raise ValueError(f"run_sweep(run=...): metrics must be real numbers (shape ()) or "
                       f"non-empty curves (shape (n,)) per run, named by strings; "
                       f"return one curve per column (e.g. {{'x_0': x[:, 0]}}), got "
                       f"{name!r} with {what}")
    spec[name] = (shape, dtype)
  columns = set(hyperparameters) | {"config", "seed", "diverged"}
  for name, (shape, _) in spec.items():
    made = [f"final_{name}", f"best_{name}"] if shape else [name]
    clash = [column for column in made if column in taken | columns]
    if clash or name in RESERVED or name in hyperparameters:
      raise ValueError(f"run_sweep(run=...): metric names must differ from the table's other "
                       f"columns, got {name!r} (its column {(clash or [name])[0]!r} is taken)")
    columns |= set(made)
  if objective is not None:
    _check_objective(objective, spec, columns)
  return spec


def _plain(info) -> bool:
  try:
    return not jax.dtypes.issubdtype(info.dtype, jax.dtypes.extended)
  except AttributeError:
    return False


def _check_objective(objective: Objective, spec: dict, columns: set) -> None:
  curves = sorted(name for name, (shape, _) in spec.items() if shape)
  for field in ("column", "tiebreak"):
    value = getattr(objective, field)
    if value is not None and value not in columns:
      raise ValueError(f"run_sweep(objective.{field}={value!r}): {field} must be a column of "
                       f"the table ({', '.join(sorted(columns))}), got {value!r}")
  for field in ("divergence_curves", "maximized_curves"):
    unknown = [name for name in getattr(objective, field) if name not in curves]
    if unknown:
      raise ValueError(f"run_sweep(objective.{field}={unknown[0]!r}): {field} must name the "
                       f"run's curves ({', '.join(curves) or 'it has none'}), got {unknown[0]!r}")
