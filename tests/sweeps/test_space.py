"""Search spaces: parsing every axis kind, flattening grids x draws, coarse-to-fine refinement."""
import numpy as np
import pytest

from jaxopt_lab.sweeps.space import (
    Grid, LogUniform, Uniform, configurations, parse_axis, parse_space, refine, size)


def test_every_axis_kind_parses():
  assert parse_axis("0.8,0.9,0.99") == Grid((0.8, 0.9, 0.99))
  assert parse_axis("grid:0:1:5") == Grid((0.0, 0.25, 0.5, 0.75, 1.0))
  np.testing.assert_allclose(parse_axis("loggrid:1e-4:1:5").values, [1e-4, 1e-3, 1e-2, 0.1, 1])
  assert parse_axis("log:1e-4:1e-1:32") == LogUniform(1e-4, 1e-1, 32)
  assert parse_axis("uniform:0:0.5:8") == Uniform(0.0, 0.5, 8)


def test_grids_are_crossed_and_random_axes_drawn_jointly():
  space = parse_space(["learning_rate=log:1e-4:1e-1:10", "b1=0.8,0.9", "b2=0.99,0.999",
                       "eps=uniform:0:1e-6:10"])
  columns = configurations(space, seed=3)
  assert list(columns) == ["learning_rate", "b1", "b2", "eps"]
  assert size(space) == 40 and all(len(c) == 40 for c in columns.values())
  pairs = set(zip(columns["b1"], columns["b2"]))
  assert pairs == {(0.8, 0.99), (0.8, 0.999), (0.9, 0.99), (0.9, 0.999)}
  # the same 10 random points under every grid point, inside their ranges, log-spread
  draws = {(lr, eps) for lr, eps in zip(columns["learning_rate"], columns["eps"])}
  assert len(draws) == 10
  assert (columns["learning_rate"] >= 1e-4).all() and (columns["learning_rate"] <= 1e-1).all()
  assert (np.log10(columns["learning_rate"]) < -2.5).any()  # log-uniform reaches the low end
  again = configurations(space, seed=3)
  assert all(np.array_equal(columns[k], again[k]) for k in columns)
  other = configurations(space, seed=4)
  assert not np.array_equal(columns["learning_rate"], other["learning_rate"])


def test_random_axes_must_agree_on_their_draws():
  space = parse_space(["learning_rate=log:1e-4:1e-1:8", "b1=uniform:0.8:0.99:16"])
  with pytest.raises(ValueError, match=r"draws must be one number .* 8 for learning_rate"):
    configurations(space)


def test_refine_zooms_in_around_the_best_within_the_old_range():
  space = parse_space(["learning_rate=loggrid:1e-4:1:9", "beta=0,0.5,0.9"])
  best = {"learning_rate": 1e-2, "beta": 0.9}
  refined = refine(space, best)
  assert size(refined) == size(space) == 27  # each round costs the same
  rate, beta = refined["learning_rate"], refined["beta"]
  assert isinstance(rate, LogUniform) and isinstance(beta, Uniform)
  np.testing.assert_allclose(np.log10([rate.low, rate.high]), [-2.5, -1.5])  # 1/4 of 4 decades
  assert beta.high == 0.9 and beta.low == pytest.approx(0.9 - 0.25 * 0.9 / 2)  # clipped at 0.9
  columns = configurations(refined, seed=0)
  assert (columns["learning_rate"] >= rate.low).all() and (columns["beta"] <= 0.9).all()
  twice = refine(refined, best)
  assert twice["learning_rate"].high / twice["learning_rate"].low < rate.high / rate.low
