"""`make bench`: every benchmark in this folder, each writing JSON + markdown under --out."""
import argparse
import importlib
import pkgutil
from pathlib import Path

import benchmarks


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args()
  for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)):
    if module != "run_all":
      print(f"== benchmarks.{module}")
      importlib.import_module(f"benchmarks.{module}").main(["--out", str(args.out)])


if __name__ == "__main__":
  main()
