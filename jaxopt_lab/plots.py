"""Small helpers every study shares: a consistent look and files written atomically."""
import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "axes.grid": True,
                     "grid.alpha": 0.3, "legend.fontsize": 8, "axes.titlesize": 10})


def save_figure(fig, path: Path) -> Path:
  """Writes `fig` to `path` (PNG), creating folders; write-then-rename, then closes it."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + ".partial")
  fig.savefig(partial, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
  plt.close(fig)
  os.replace(partial, path)
  return path


def save_table(frame, path: Path) -> Path:
  """Writes a pandas DataFrame to `path` as CSV, write-then-rename."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + ".partial")
  frame.to_csv(partial, index=False)
  os.replace(partial, path)
  return path


def save_text(text: str, path: Path) -> Path:
  """Writes `text` to `path` (a report, markdown), write-then-rename."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + ".partial")
  partial.write_text(text)
  os.replace(partial, path)
  return path


def save_arrays(arrays: dict, path: Path) -> Path:
  """Writes named NumPy arrays to `path` as a compressed .npz, write-then-rename."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(path.name + ".partial.npz")
  np.savez_compressed(partial, **arrays)
  os.replace(partial, path)
  return path
