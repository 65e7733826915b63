"""Small helpers every study shares: a consistent look and files written atomically."""
from pathlib import Path

import matplotlib
import numpy as np

from jaxopt_lab._atomic import write_atomically

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "axes.grid": True,
                     "grid.alpha": 0.3, "legend.fontsize": 8, "axes.titlesize": 10})


def save_figure(fig, path: Path) -> Path:
  """Writes `fig` to `path` (PNG), creating folders; write-then-rename, then closes it."""
  form = Path(path).suffix.lstrip(".") or "png"
  write_atomically(path, lambda partial: fig.savefig(partial, format=form, bbox_inches="tight"))
  plt.close(fig)
  return Path(path)


def save_table(frame, path: Path) -> Path:
  """Writes a pandas DataFrame to `path` as CSV, write-then-rename."""
  return write_atomically(path, lambda partial: frame.to_csv(partial, index=False))


def save_text(text: str, path: Path) -> Path:
  """Writes `text` to `path` (a report, markdown), write-then-rename."""
  return write_atomically(path, lambda partial: partial.write_text(text))


def save_arrays(arrays: dict, path: Path) -> Path:
  """Writes named NumPy arrays to `path` as a compressed .npz, write-then-rename."""
  return write_atomically(path, lambda partial: np.savez_compressed(partial, **arrays),
                          suffix=".partial.npz")
