"""Benchmarks: each module has main(argv) that prints a table and writes JSON under --out."""
import json
import os
import platform
from pathlib import Path


def machine(device_kind: str) -> str:
  """The device and its host for a table's header: 'cpu (x86_64, 2 cores)'."""
  return f"{device_kind} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def write_results(out: Path, stem: str, record: dict, table: str) -> None:
  """out/<stem>.json (the record) and out/<stem>.md (the table), then the table printed."""
  out.mkdir(parents=True, exist_ok=True)
  (out / f"{stem}.json").write_text(json.dumps(record, indent=2, default=str))
  (out / f"{stem}.md").write_text(table + "\n")
  print(table)
