"""The look every figure shares, and `save_figure`: PNGs written atomically, then closed."""
from pathlib import Path

import matplotlib

from jaxopt_lab.files import write_atomically

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
