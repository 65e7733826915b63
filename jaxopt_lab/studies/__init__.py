"""Studies: the experiments `jaxopt-lab <study>` runs, each writing figures and tables."""
