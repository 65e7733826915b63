"""Process-wide JAX settings under which sweeps run fastest; `jaxopt-lab sweep` applies both,
the library never does it behind a user's back (both change the whole process).

  from jaxopt_lab.sweeps import host
  host.use_every_core()          # right after `import jax`, before any computation
  host.use_compilation_cache()   # ~/.cache/jaxopt_lab/xla (or $XDG_CACHE_HOME/jaxopt_lab/xla)

- `use_every_core`: XLA:CPU runs one program on one host device, which keeps about one core
  busy; with one host device per core `run_sweep`'s default mesh shards the configuration axis
  over all of them (0.64x the time of one device on 2 cores, issue 13). It is JAX's
  `jax_num_cpu_devices` (the same as XLA_FLAGS=--xla_force_host_platform_device_count=N), so it
  only works before JAX starts its backends, and it changes every CPU program of the process
  (e.g. `jax.devices()` lists N CPU devices). It leaves GPUs and TPUs alone.
- `use_compilation_cache`: JAX's persistent compilation cache (`jax_compilation_cache_dir`),
  with no minimum compile time, so that the same sweep program compiled by an earlier process
  is loaded from disk instead (first call 0.35x at K = 64, issue 13). Its key is the program
  text, the compile options, the jax/jaxlib versions and the device, so a stale entry is never
  used; delete the folder to reclaim its space.
"""
import os
import warnings
from pathlib import Path
from typing import Optional

import jax

FORCED_DEVICES = "xla_force_host_platform_device_count"


def cores() -> int:
  """The cores this process may run on."""
  try:
    return len(os.sched_getaffinity(0))
  except (AttributeError, OSError):
    return os.cpu_count() or 1


def use_every_core(devices: Optional[int] = None) -> None:
  """Makes JAX's CPU platform `devices` host devices (default: one per core). A count the
  user chose (XLA_FLAGS or `jax_num_cpu_devices`) is kept, and once JAX has started its
  backends nothing changes: the process keeps the devices it has."""
  chosen = FORCED_DEVICES in os.environ.get("XLA_FLAGS", "") or \
      jax.config.jax_num_cpu_devices not in (-1, None)
  if not chosen:
    try:
      jax.config.update("jax_num_cpu_devices", int(devices or cores()))
    except RuntimeError:  # JAX has started
      pass


def default_cache() -> Path:
  base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
  return Path(base) / "jaxopt_lab" / "xla"


def use_compilation_cache(folder: Optional[Path] = None) -> Optional[Path]:
  """Turns on JAX's persistent compilation cache in `folder` (default: `default_cache()`)
  unless the user set one; returns the folder in use, or None (with a one-line warning) when
  it cannot be created."""
  if jax.config.jax_compilation_cache_dir:
    return Path(jax.config.jax_compilation_cache_dir)
  folder = Path(folder) if folder is not None else default_cache()
  try:
    folder.mkdir(parents=True, exist_ok=True)
  except OSError as error:
    warnings.warn(f"no compilation cache: {folder} cannot be created ({error.strerror}); "
                  f"every sweep program is compiled anew", RuntimeWarning, stacklevel=2)
    return None
  jax.config.update("jax_compilation_cache_dir", str(folder))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  return folder
