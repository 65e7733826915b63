"""What a reader sees wrong in a figure, checked without eyes: for any matplotlib Figure.

`review(fig)` draws the figure on its canvas and returns one line per problem (an empty list
for a clean figure), so a failing test prints what to fix:

  assert review(fig) == []
  # ["axes 1 'Measured: ...': marker 'X' at (3.2, 0) is cut by the axes edge", ...]

It looks for text outside the figure, titles wider than the figure or their axes, texts that
overlap each other or a legend, text too small to read, text without contrast against what
lies under it (e.g. white contour labels on yellow), markers cut by the axes edge, legends that
cover markers or lines, legend entries that show a style nothing in the axes is drawn with,
and axes whose tick labels have no axis label. The helpers below (`legend_entries`,
`contour_labels`, `markers`, `unexplained_markers`) let a test check a figure's own points.
"""
import itertools

import matplotlib.colors as mcolors
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

SLACK = 1.0        # pixels an extent may pass a boundary (antialiasing)
SMALLEST_PT = 6.0  # the smallest text, in points, when the figure is shown READ_WIDTH wide
READ_WIDTH = 13.0  # inches: the figure seen whole on a screen or a page
CONTRAST = 2.5     # the least WCAG contrast ratio between a text and what lies under it
EMPTY_BAND = 0.06  # the widest empty band between axes, as a fraction of the figure


def review(fig) -> list[str]:
  """Every problem found in `fig` (drawn first), one line each; [] for a clean figure."""
  if not isinstance(fig.canvas, FigureCanvasAgg):
    FigureCanvasAgg(fig)  # a closed figure (plt.close) keeps no canvas that draws: lend one
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  shown = visible_texts(fig)
  boxes = {id(text): Text.get_window_extent(text, renderer) for text in shown}  # no arrows
  problems = []
  problems += _outside_figure(fig, shown, boxes)
  problems += _wide_titles(fig, boxes, renderer)
  problems += _overlaps(fig, shown, boxes, renderer)
  problems += _small_texts(fig, shown)
  problems += _faint_texts(fig, shown, boxes)
  problems += _empty_bands(fig, renderer)
  for ax in fig.axes:
    problems += _cut_markers(ax, renderer)
    problems += _legend_problems(ax, renderer)
    problems += _missing_axis_labels(ax)
  return problems


def name(artist) -> str:
  """How a problem line names an axes ('axes 2 'its title'') or a text ('its words')."""
  if isinstance(artist, Text):
    return repr(artist.get_text()[:48])
  ax = artist
  return f"axes {ax.figure.figure.axes.index(ax)} {ax.get_title()[:40]!r}"


def visible_texts(fig) -> list[Text]:
  """The texts a reader sees: titles, labels, legends, annotations, contour labels, and the
  tick labels of ticks inside the view (matplotlib keeps labels for ticks beyond it)."""
  ticks, shown = set(), []
  for ax in fig.axes:
    for axis in (ax.xaxis, ax.yaxis):
      scale = axis.get_transform()  # log axes: compare positions on the log scale
      low, high = sorted(scale.transform(np.asarray(axis.get_view_interval(), float)))
      margin = 1e-9 * (high - low)
      for locations, get in [(axis.get_majorticklocs(), axis.get_major_ticks),
                             (axis.get_minorticklocs(), axis.get_minor_ticks)]:
        for tick in get():
          ticks |= {id(tick.label1), id(tick.label2)}
        for location, tick in zip(locations, get(len(locations))):
          where = scale.transform(np.asarray([location], float))[0]
          if tick.get_visible() and low - margin <= where <= high + margin:
            shown += [label for label in (tick.label1, tick.label2) if _seen(label)]
  others = [text for text in fig.findobj(Text) if id(text) not in ticks and _seen(text)]
  return others + shown


def _seen(text) -> bool:
  if not (text.get_visible() and text.get_text().strip()):
    return False
  return text.axes is None or text.axes.get_visible()


def _outside_figure(fig, shown, boxes):
  frame = fig.bbox
  problems = [f"text {name(text)} reaches outside the figure" for text in shown
              if not _within(boxes[id(text)], frame)]
  for ax in fig.axes:
    legend = ax.get_legend()
    if legend is not None and not _within(legend.get_window_extent(), frame):
      problems.append(f"{name(ax)}: its legend reaches outside the figure")
  for legend in _figure_legends(fig):
    if not _within(legend.get_window_extent(), frame):
      problems.append("a figure legend reaches outside the figure")
  for ax in fig.axes:  # markers drawn unclipped, over the axes edge, must stay on the canvas
    for artist, xy, radius in markers(ax):
      if not artist.get_clip_on() and not all(_within(Bbox([p - radius, p + radius]), frame)
                                              for p in xy):
        problems.append(f"{name(ax)}: a marker of {artist.get_label()!r} reaches outside the "
                        "figure")
  return sorted(set(problems))


def _wide_titles(fig, boxes, renderer):
  """Suptitles wider than the figure; axes titles wider than their axes with its tick and
  axis labels."""
  titles = [(figure._suptitle, figure.bbox, "the figure") for figure in _figures(fig)  # private
            if figure._suptitle is not None]
  for ax in fig.axes:
    room = Bbox.union([ax.bbox] + [box for axis in (ax.xaxis, ax.yaxis)
                                   if (box := axis.get_tightbbox(renderer)) is not None])
    titles += [(title, room, "its axes")  # matplotlib keeps the side titles private
               for title in (ax.title, ax._left_title, ax._right_title)]
  problems = []
  for title, room, where in titles:
    width = boxes[id(title)].width if id(title) in boxes else 0
    if width > min(room.width, fig.bbox.width) + SLACK:
      problems.append(f"title {name(title)} is wider than {where} ({width:.0f} > "
                      f"{room.width:.0f} px)")
  return problems


def _figures(fig) -> list:
  """`fig` and its subfigures, nested."""
  return [fig] + [inner for sub in fig.subfigs for inner in _figures(sub)]


def _figure_legends(fig) -> list:
  return [legend for figure in _figures(fig) for legend in figure.legends]


def _overlaps(fig, shown, boxes, renderer):
  """Pairs of texts whose boxes intersect, and texts under a legend they are not part of."""
  problems = []
  for first, second in itertools.combinations(shown, 2):
    if _area(boxes[id(first)], boxes[id(second)]) > 2:
      problems.append(f"texts {name(first)} and {name(second)} overlap")
  legends = [legend for ax in fig.axes if (legend := ax.get_legend())] + _figure_legends(fig)
  for legend in legends:
    own = {id(text) for text in legend.findobj(Text)}
    box = legend.get_window_extent(renderer)
    problems += [f"text {name(text)} lies under a legend" for text in shown
                 if id(text) not in own and _area(boxes[id(text)], box) > 2]
  for first, second in itertools.combinations(legends, 2):
    if _area(first.get_window_extent(renderer), second.get_window_extent(renderer)) > 2:
      problems.append("two legends overlap")
  return problems


def _small_texts(fig, shown):
  """Texts smaller than SMALLEST_PT once a figure wider than READ_WIDTH is shrunk to it."""
  scale = min(READ_WIDTH / fig.figure.get_figwidth(), 1.0)
  return [f"text {name(text)} is {text.get_fontsize() * scale:.1f} pt when the figure is shown "
          f"{READ_WIDTH:g} in wide (< {SMALLEST_PT:g} pt)" for text in shown
          if text.get_fontsize() * scale < SMALLEST_PT]


def _empty_bands(fig, renderer):
  """Vertical or horizontal bands wider than EMPTY_BAND of the figure that no axes (with its
  labels, title and legend) reaches, between axes: space the layout wasted."""
  boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
  problems = []
  for low, high, size, direction in [(0, 2, fig.bbox.width, "vertical"),
                                     (1, 3, fig.bbox.height, "horizontal")]:
    spans = sorted((box.bounds[low], box.bounds[low] + box.bounds[high]) for box in boxes)
    reach = spans[0][1] if spans else 0
    for start, end in spans[1:]:
      if start - reach > EMPTY_BAND * size:
        problems.append(f"an empty {direction} band of {start - reach:.0f} px between the axes "
                        f"(> {EMPTY_BAND:.0%} of the figure)")
      reach = max(reach, end)
  return problems


def _faint_texts(fig, shown, boxes):
  """Texts whose colour has too little contrast with the pixels around them, unless a halo
  (a stroke path effect) or a box of their own carries them."""
  pixels = np.asarray(fig.canvas.buffer_rgba(), float)[..., :3] / 255
  problems = []
  for text in shown:
    colour = mcolors.to_rgb(text.get_color())
    backing = [mcolors.to_rgb(effect._gc["foreground"])  # a halo's colour (no public getter)
               for effect in text.get_path_effects() if isinstance(effect, patheffects.withStroke)]
    patch = text.get_bbox_patch()
    if patch is not None and patch.get_facecolor()[3] > 0.5:
      backing.append(patch.get_facecolor()[:3])
    if not backing:
      backing = [_surroundings(pixels, boxes[id(text)])]
    best = max(contrast(colour, under) for under in backing)
    if best < CONTRAST:
      problems.append(f"text {name(text)} has contrast {best:.2f} with what lies under it "
                      f"(< {CONTRAST:g})")
  return problems


def _surroundings(pixels, box, gap=2, width=2):
  """The median colour in a ring `gap` pixels outside `box` (display coordinates)."""
  height = pixels.shape[0]
  x0, x1 = int(box.x0) - gap - width, int(np.ceil(box.x1)) + gap + width
  y0, y1 = height - int(np.ceil(box.y1)) - gap - width, height - int(box.y0) + gap + width
  x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, pixels.shape[1]), min(y1, height)
  ring = np.concatenate([pixels[y0:y0 + width, x0:x1].reshape(-1, 3),
                         pixels[y1 - width:y1, x0:x1].reshape(-1, 3),
                         pixels[y0:y1, x0:x0 + width].reshape(-1, 3),
                         pixels[y0:y1, x1 - width:x1].reshape(-1, 3)])
  return np.median(ring, axis=0) if len(ring) else np.ones(3)


def contrast(first, second) -> float:
  """WCAG contrast ratio of two RGB colours: 1 (same) to 21 (black on white)."""
  def luminance(rgb):
    rgb = np.asarray(rgb, float)
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])
  light, dark = sorted([luminance(first), luminance(second)], reverse=True)
  return (light + 0.05) / (dark + 0.05)


def markers(ax):
  """(artist, display xy [n, 2], radius in pixels) for every drawn marker set in `ax`: lines
  with markers and scatter collections, finite points only."""
  found = []
  pixels_per_point = ax.figure.dpi / 72
  for line in ax.lines:
    if line.get_visible() and line.get_marker() not in (None, "None", "none", "", " "):
      xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
      xy = xy[np.isfinite(xy).all(1)]
      if len(xy):
        radius = (line.get_markersize() / 2 + line.get_markeredgewidth() / 2) * pixels_per_point
        found.append((line, line.get_transform().transform(xy), radius))
  for collection in ax.collections:
    if isinstance(collection, PathCollection) and collection.get_visible():
      xy = np.asarray(collection.get_offsets(), float)
      xy = xy[np.isfinite(xy).all(1)]
      sizes = collection.get_sizes()
      if len(xy) and len(sizes):
        radius = np.sqrt(sizes.max()) / 2 * pixels_per_point
        found.append((collection, collection.get_offset_transform().transform(xy), radius))
  return found


def _cut_markers(ax, renderer):
  """Markers whose centre is in the view but whose disc the axes edge cuts off."""
  box, problems = ax.bbox, []
  for artist, xy, radius in markers(ax):
    if not artist.get_clip_on():
      continue  # drawn over the edge on purpose; _outside_figure covers the canvas
    inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) &
              (xy[:, 1] <= box.y1))
    cut = inside & ((xy[:, 0] - radius < box.x0 - SLACK) | (xy[:, 0] + radius > box.x1 + SLACK) |
                    (xy[:, 1] - radius < box.y0 - SLACK) | (xy[:, 1] + radius > box.y1 + SLACK))
    if cut.any():
      where = ax.transData.inverted().transform(xy[cut][0])
      problems.append(f"{name(ax)}: {cut.sum()} marker(s) of {artist.get_label()!r} cut by the "
                      f"axes edge, e.g. at ({where[0]:.3g}, {where[1]:.3g})")
  return problems


def legend_entries(ax) -> list[str]:
  """The labels of the legend of `ax` ([] without one)."""
  legend = ax.get_legend()
  return [text.get_text() for text in legend.get_texts()] if legend else []


def _styles(artist) -> list[tuple]:
  """What a legend handle or a drawn artist shows: ('line', style, rgb), ('marker', marker,
  face rgba, edge rgba) and ('fill', rgb, hatch)."""
  if isinstance(artist, Line2D):
    styles = []
    if artist.get_linestyle() not in ("None", "none", "", " ") and artist.get_linewidth() > 0:
      styles.append(("line", artist.get_linestyle(), mcolors.to_rgb(artist.get_color())))
    if artist.get_marker() not in (None, "None", "none", "", " "):
      styles.append(("marker", artist.get_marker(), mcolors.to_rgba(artist.get_markerfacecolor()),
                     mcolors.to_rgba(artist.get_markeredgecolor())))
    return styles
  if isinstance(artist, Patch):
    return [("fill", mcolors.to_rgb(artist.get_facecolor()), artist.get_hatch() or "")]
  if isinstance(artist, PolyCollection) and len(artist.get_facecolor()):
    return [("fill", tuple(mcolors.to_rgb(c)), artist.get_hatch() or "")
            for c in artist.get_facecolor()]
  if isinstance(artist, PathCollection) and len(artist.get_facecolor()):
    edges = artist.get_edgecolor()
    edge = tuple(edges[0]) if len(edges) else (0, 0, 0, 0)
    return [("marker", None, tuple(c), edge) for c in artist.get_facecolor()]
  return []


def _same(first, second) -> bool:
  """Whether two styles look alike (a scatter's marker shape is not compared, only colours)."""
  def close(a, b):
    return np.allclose(mcolors.to_rgba(a), mcolors.to_rgba(b), atol=0.03)
  kind = first[0]
  if kind != second[0]:
    return False
  if kind == "line":
    return first[1] == second[1] and close(first[2], second[2])
  if kind == "marker":
    shape = first[1] == second[1] or None in (first[1], second[1])
    return shape and close(first[2], second[2]) and close(first[3], second[3])
  return close(first[1], second[1]) and first[2] == second[2]


def _drawn_styles(ax) -> list[tuple]:
  drawn = []
  for artist in [*ax.lines, *ax.patches, *ax.collections]:
    if not artist.get_visible() or isinstance(artist, ContourSet):
      continue
    if isinstance(artist, Line2D) and len(artist.get_xdata()) == 0:
      continue  # a stand-in drawn only for a legend
    if isinstance(artist, PathCollection) and len(artist.get_offsets()) == 0:
      continue
    drawn += _styles(artist)
  return drawn


def _legend_problems(ax, renderer):
  legend = ax.get_legend()
  if legend is None:
    return []
  problems, drawn = [], _drawn_styles(ax)
  if not drawn:  # a key: a legend in an empty axes explains the figure's other axes
    drawn = [style for other in ax.figure.figure.axes for style in _drawn_styles(other)]
  for handle, text in zip(legend.legend_handles, legend.get_texts()):
    for style in _styles(handle):
      if not any(_same(style, other) for other in drawn):
        problems.append(f"{name(ax)}: legend entry {name(text)} shows a {style[0]} "
                        f"{style[1] if style[0] != 'fill' else ''} that nothing drawn has")
  box = legend.get_window_extent(renderer)
  for artist, xy, _ in markers(ax):
    under = ((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) &
             (xy[:, 1] < box.y1) & _in_view(ax, xy))
    if under.any():
      problems.append(f"{name(ax)}: the legend covers {under.sum()} marker(s) of "
                      f"{artist.get_label()!r}")
  for line in ax.lines:
    if line.get_visible() and line.get_linestyle() not in ("None", "none", "", " ") and \
        len(line.get_xdata()) and _covered(ax, line, box):
      problems.append(f"{name(ax)}: the legend covers part of the line {line.get_label()!r}")
  return problems


def _in_view(ax, xy):
  box = ax.bbox
  return (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)


def _covered(ax, line, box, spacing=2.0) -> bool:
  """Whether the drawn path of `line` (clipped to the axes) passes under `box`."""
  xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
  xy = line.get_transform().transform(xy[np.isfinite(xy).all(1)])
  if len(xy) == 1:
    points = xy
  else:
    pieces = [np.linspace(a, b, max(2, int(np.hypot(*(b - a)) / spacing)))
              for a, b in zip(xy[:-1], xy[1:]) if np.hypot(*(b - a)) < 1e5]
    points = np.concatenate(pieces) if pieces else xy
  inner = box.padded(-2)
  under = ((points[:, 0] > inner.x0) & (points[:, 0] < inner.x1) & (points[:, 1] > inner.y0) &
           (points[:, 1] < inner.y1) & _in_view(ax, points))
  return bool(under.any())


def unexplained_markers(ax) -> list[str]:
  """Labels of drawn marker sets whose marker and colours no legend entry of `ax` (or of the
  figure) shows: e.g. three marker shapes drawn where the legend shows one."""
  shown = []
  for legend in [ax.get_legend(), *_figure_legends(ax.figure.figure)]:
    if legend is not None:
      shown += [style for handle in legend.legend_handles for style in _styles(handle)]
  missing = []
  for artist, _, _ in markers(ax):
    for style in _styles(artist):
      if style[0] == "marker" and not any(_same(style, other) for other in shown):
        missing.append(artist.get_label())
  return missing


def contour_labels(ax) -> list[Text]:
  """The label texts of every contour set drawn in `ax`."""
  return [text for artist in ax.collections if isinstance(artist, ContourSet)
          for text in artist.labelTexts]


def _missing_axis_labels(ax):
  """An axis that shows tick labels needs a label (colorbars: their long axis)."""
  problems = []
  for axis, label in [(ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())]:
    ticks = [tick for tick in axis.get_major_ticks()
             if tick.get_visible() and (_seen(tick.label1) or _seen(tick.label2))]
    if ax.get_visible() and ax.axison and axis.get_visible() and ticks and not label.strip():
      problems.append(f"{name(ax)}: the {axis.axis_name} axis has tick labels but no label")
  return problems


def _within(box, frame) -> bool:
  return (box.x0 >= frame.x0 - SLACK and box.x1 <= frame.x1 + SLACK and
          box.y0 >= frame.y0 - SLACK and box.y1 <= frame.y1 + SLACK)


def _area(first, second) -> float:
  width = min(first.x1, second.x1) - max(first.x0, second.x0)
  height = min(first.y1, second.y1) - max(first.y0, second.y0)
  return max(width, 0) * max(height, 0)
