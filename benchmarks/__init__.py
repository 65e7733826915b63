"""Benchmarks: each module has main(argv) that prints a table and writes JSON under --out."""
