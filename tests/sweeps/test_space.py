"""Search spaces: parsing every axis kind, flattening grids x draws, random and quasi-random
draws, coarse-to-fine refinement, one-line errors naming the option as typed."""
import numpy as np
import pytest

from jaxopt_lab.sweeps.space import (
    Choice, Grid, LogUniform, Uniform, configurations, parse_axis, parse_space, refine, size)


def test_every_axis_kind_parses():
  assert parse_axis("0.8,0.9,0.99") == Grid((0.8, 0.9, 0.99))
  assert parse_axis("lingrid:0:1:5") == Grid((0.0, 0.25, 0.5, 0.75, 1.0))
  np.testing.assert_allclose(parse_axis("loggrid:1e-4:1:5").values, [1e-4, 1e-3, 1e-2, 0.1, 1])
  assert parse_axis("loguniform:1e-4:1e-1:32") == LogUniform(1e-4, 1e-1, 32)
  assert parse_axis("uniform:0:0.5:8") == Uniform(0.0, 0.5, 8)
  assert parse_axis("choice:16,32,64:8") == Choice((16.0, 32.0, 64.0), 8)
  for axis in ["0.8,0.9", "loguniform:0.0001:0.1:32", "uniform:0:0.5:8", "choice:16,32:8"]:
    assert parse_axis(parse_axis(axis).describe()) == parse_axis(axis)  # describe round-trips


@pytest.mark.parametrize("axis, message", [
    ("log:1e-4:1e-1:32", "'log' is not an axis kind; did you mean loguniform (n random draws) "
                         "or loggrid (n grid values)?"),
    ("grid:0:1:5", "'grid' is not an axis kind; did you mean lingrid"),
    ("logunifrom:1e-4:1:4", "'logunifrom' is not an axis kind; did you mean loguniform?"),
    ("sobol:0:1:4", "'sobol' is not an axis kind; give values a,b,c, lingrid:low:high:n"),
    ("", "the axis is empty; give values a,b,c"),
    ("loguniform:0:1:4", "low must be in (0, inf) for loguniform, got 0"),
    ("lingrid:1:2:0", "n must be an integer in [1, inf), got '0'"),
    ("choice:1,2", "text must be choice:a,b,c:n"),
    ("choice:1,1:4", "values must be distinct"),
    ("uniform:1:2", "text must be uniform:low:high:n (n uniform random draws)"),
])
def test_a_bad_axis_is_one_line_naming_the_option_as_typed(axis, message):
  with pytest.raises(ValueError) as error:
    parse_space(["b1=0.9", f"learning_rate={axis}"])
  text = str(error.value)
  assert text.startswith(f"--param learning_rate={axis}: ") and message in text, text
  assert "\n" not in text and "parse_axis" not in text


def test_a_bad_assignment_is_one_line_naming_it():
  with pytest.raises(ValueError, match=r"^--param b1=0.8: b1 must be given once, got it twice$"):
    parse_space(["b1=0.9", "b1=0.8"])
  with pytest.raises(ValueError, match=r"^--param lr: assignment must be NAME=AXIS \(e.g. "):
    parse_space(["lr"])


def test_grids_are_crossed_and_random_axes_drawn_jointly():
  space = parse_space(["learning_rate=loguniform:1e-4:1e-1:10", "b1=0.8,0.9", "b2=0.99,0.999",
                       "eps=uniform:0:1e-6:10"])
  for method in ["random", "quasi-random"]:
    columns = configurations(space, seed=3, method=method)
    assert list(columns) == ["learning_rate", "b1", "b2", "eps"]
    assert size(space) == 40 and all(len(c) == 40 for c in columns.values())
    pairs = set(zip(columns["b1"], columns["b2"]))
    assert pairs == {(0.8, 0.99), (0.8, 0.999), (0.9, 0.99), (0.9, 0.999)}
    # the same 10 random points under every grid point, inside their ranges, log-spread
    draws = {(lr, eps) for lr, eps in zip(columns["learning_rate"], columns["eps"])}
    assert len(draws) == 10
    assert (columns["learning_rate"] >= 1e-4).all() and (columns["learning_rate"] <= 1e-1).all()
    assert (np.log10(columns["learning_rate"]) < -3).any()  # log-uniform reaches the low end
    again = configurations(space, seed=3, method=method)
    assert all(np.array_equal(columns[k], again[k]) for k in columns)
    other = configurations(space, seed=4, method=method)
    assert not np.array_equal(columns["learning_rate"], other["learning_rate"])


def test_quasi_random_draws_cover_every_half_decade_where_random_ones_miss():
  """The issue's case: 16 draws of a learning rate in [1e-4, 1e-1]. Scrambled Sobol puts one
  point in each sixteenth of the log range (so one or more in every half-decade), for every
  seed and in every axis of a joint draw; independent draws left a half-decade empty."""
  space = parse_space(["learning_rate=loguniform:1e-4:1e-1:16", "b1=uniform:0.5:1:16",
                       "batch=choice:16,32,64,128:16"])
  half_decades = np.arange(-4, -0.9, 0.5)
  missed = 0
  for seed in range(10):
    columns = configurations(space, seed=seed, method="quasi-random")
    strata = np.floor((np.log10(columns["learning_rate"]) + 4) / 3 * 16)
    assert sorted(strata) == list(range(16)), seed
    assert np.histogram(np.log10(columns["learning_rate"]), half_decades)[0].min() >= 2
    assert sorted(np.floor((columns["b1"] - 0.5) / 0.5 * 16)) == list(range(16))
    assert np.unique(columns["batch"], return_counts=True)[1].tolist() == [4, 4, 4, 4]
    random = configurations(space, seed=seed, method="random")["learning_rate"]
    missed += np.histogram(np.log10(random), half_decades)[0].min() == 0
  assert missed >= 3


def test_unknown_method_and_disagreeing_draws_are_one_line():
  space = parse_space(["learning_rate=loguniform:1e-4:1e-1:8", "b1=uniform:0.8:0.99:16"])
  with pytest.raises(ValueError, match=r"draws must be one number .* 8 for learning_rate"):
    configurations(space)
  with pytest.raises(ValueError, match=r"^configurations\(method='sobol'\): method must be one "
                                       r"of random, quasi-random, got 'sobol'$"):
    configurations(parse_space(["learning_rate=0.1"]), method="sobol")


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
  assert refine(parse_space(["b=choice:1,2:4"]), {"b": 2.0})["b"] == Choice((1.0, 2.0), 4)
