"""Map of Kazakhstan's 20 regions as inline SVG, computed once from ``data/regions.geojson``.

A pure module (no Flask, no database): it reads the simplified boundaries, projects them with a
Lambert conformal conic projection (standard parallels 45° and 51° N, origin 48° N 67° E, WGS84
ellipsoid; the projection the boundaries were simplified in) into an SVG user space about 1000 units
wide with y pointing down, and returns one SVG path per region plus a point inside it for markers.
The template ``templates/regions/_map.html`` draws the result; no JavaScript and no map tiles are
involved. Data licences: ``data/ATTRIBUTION.md``.

Typical use in a view::

    from app.regions import map as region_map
    items = region_map.build_map({"KZ-75": 12, "KZ-71": 4}, marked={"KZ-75": "author"})
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

GEOJSON_PATH = Path(__file__).resolve().parent / "data" / "regions.geojson"

# Cities of republican significance (ISO 3166-2:KZ subdivision type "City"): too small to see at country
# scale, so the map also gives each of them a circle marker of CITY_MARKER_RADIUS at its label point.
CITY_CODES = frozenset({"KZ-71", "KZ-75", "KZ-79"})
CITY_MARKER_RADIUS = 9

# Lambert conformal conic, two standard parallels (Snyder, "Map Projections: A Working Manual", 1987, §15).
LAT_1 = 45.0
LAT_2 = 51.0
LAT_0 = 48.0
LON_0 = 67.0
WGS84_A = 6_378_137.0
WGS84_F = 1 / 298.257223563

WIDTH = 1000  # width of the viewBox in SVG user units; the height follows from the country's shape
PADDING = 12  # free space around the country, so thick outlines and markers at the border are not clipped

SHADES = 5  # shade-1 ... shade-5 for counts above zero; shade-0 is for zero


@dataclass(frozen=True)
class RegionShape:
    """One region ready to draw: its SVG path data and a point inside it (in viewBox units)."""

    iso_code: str
    path: str
    label_x: float
    label_y: float
    is_city: bool


class MapItems(list):
    """The list :func:`build_map` returns: a plain ``list`` of dicts that also knows its ``view_box``, so the
    template macro needs no separate argument for it."""

    view_box: str = ""


Point = tuple[float, float]
Ring = list[Point]


def _lcc():
    """Return a function projecting (lon, lat) in degrees to (x, y) in metres (y north)."""
    e = math.sqrt(WGS84_F * (2 - WGS84_F))

    def m(phi: float) -> float:
        return math.cos(phi) / math.sqrt(1 - (e * math.sin(phi)) ** 2)

    def t(phi: float) -> float:
        es = e * math.sin(phi)
        return math.tan(math.pi / 4 - phi / 2) / ((1 - es) / (1 + es)) ** (e / 2)

    phi1, phi2, phi0 = (math.radians(v) for v in (LAT_1, LAT_2, LAT_0))
    n = (math.log(m(phi1)) - math.log(m(phi2))) / (math.log(t(phi1)) - math.log(t(phi2)))
    big_f = m(phi1) / (n * t(phi1) ** n)
    rho0 = WGS84_A * big_f * t(phi0) ** n

    def project(lon: float, lat: float) -> Point:
        rho = WGS84_A * big_f * t(math.radians(lat)) ** n
        theta = n * math.radians(lon - LON_0)
        return rho * math.sin(theta), rho0 - rho * math.cos(theta)

    return project


def _signed_area(ring: Ring) -> float:
    """Shoelace area of a closed or open ring (sign depends on the orientation)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def _centroid(ring: Ring) -> Point:
    """Area centroid of a simple ring (the vertex mean for a degenerate one)."""
    area = _signed_area(ring)
    if abs(area) < 1e-9:
        return sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return cx / (6 * area), cy / (6 * area)


def _crossings(rings: list[Ring], y: float) -> list[float]:
    """The x coordinates where the horizontal line at ``y`` crosses the edges of ``rings``, sorted."""
    xs = []
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 <= y) != (y1 <= y):
                xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    return sorted(xs)


def _inside(rings: list[Ring], x: float, y: float) -> bool:
    """Even-odd point-in-polygon test (exterior ring plus holes)."""
    return sum(1 for cx in _crossings(rings, y) if cx < x) % 2 == 1


def _label_point(rings: list[Ring]) -> Point:
    """A point inside the polygon ``rings`` (exterior first, then holes): the centroid of the exterior ring
    when it lies inside the polygon and not too close to its edge, otherwise the middle of the widest inside
    stretch of a horizontal scan line, the line nearest to the centroid winning ties of width."""
    cx, cy = _centroid(rings[0])
    ys = [p[1] for p in rings[0]]
    top, bottom = min(ys), max(ys)
    if _inside(rings, cx, cy):
        xs = _crossings(rings, cy)
        left = max((x for x in xs if x < cx), default=cx)
        right = min((x for x in xs if x > cx), default=cx)
        if min(cx - left, right - cx) >= CITY_MARKER_RADIUS or right - left < 4 * CITY_MARKER_RADIUS:
            return cx, cy
    best: tuple[float, float, Point] | None = None
    steps = 64
    for i in range(1, steps):
        y = top + (bottom - top) * i / steps
        xs = _crossings(rings, y)
        for x0, x1 in zip(xs[::2], xs[1::2], strict=False):
            score = (round(x1 - x0, 1), -abs(y - cy))
            if best is None or score > best[:2]:
                best = (*score, ((x0 + x1) / 2, y))
    return best[2] if best else (cx, cy)


def _fmt(tenths: int) -> str:
    """A number given in tenths as SVG path text: ``125`` → ``12.5``, ``120`` → ``12``, ``-5`` → ``-.5``."""
    sign = "-" if tenths < 0 else ""
    whole, tenth = divmod(abs(tenths), 10)
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole or ''}.{tenth}"


def _join_numbers(numbers: list[str]) -> str:
    """Join path numbers with the fewest separators the SVG path grammar allows (``1-2``, ``.5.5``)."""
    out: list[str] = []
    previous = ""
    for number in numbers:
        if out and not number.startswith("-") and not (number.startswith(".") and "." in previous):
            out.append(" ")
        out.append(number)
        previous = number
    return "".join(out)


def _ring_path(ring: list[tuple[int, int]]) -> str:
    """SVG path data for one closed ring given in tenths of a unit: ``M x y`` (absolute), then ``l`` with the
    relative steps to each next vertex (exact, as every vertex is on the 0.1 grid), then ``z``. Repeated
    vertices and the closing copy of the first vertex are dropped."""
    points = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]
    if len(points) > 1 and points[-1] == points[0]:
        points.pop()
    start_x, start_y = points[0]
    steps: list[str] = []
    for (x0, y0), (x1, y1) in pairwise(points):
        steps += [_fmt(x1 - x0), _fmt(y1 - y0)]
    return f"M{_fmt(start_x)} {_fmt(start_y)}" + (f"l{_join_numbers(steps)}" if steps else "") + "z"


@functools.cache
def _geometry() -> tuple[tuple[RegionShape, ...], str]:
    """Read, project and scale the boundaries once per process."""
    with GEOJSON_PATH.open(encoding="utf-8") as f:
        collection = json.load(f)
    project = _lcc()
    regions: list[tuple[str, list[list[Ring]]]] = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        projected = [[[project(lon, lat) for lon, lat in ring] for ring in polygon] for polygon in polygons]
        regions.append((feature["properties"]["iso_code"], projected))

    points = [p for _, polygons in regions for polygon in polygons for ring in polygon for p in ring]
    min_x, max_x = min(p[0] for p in points), max(p[0] for p in points)
    min_y, max_y = min(p[1] for p in points), max(p[1] for p in points)
    scale = (WIDTH - 2 * PADDING) / (max_x - min_x)
    height = math.ceil((max_y - min_y) * scale + 2 * PADDING)

    def to_tenths(p: Point) -> tuple[int, int]:
        return round((PADDING + (p[0] - min_x) * scale) * 10), round((PADDING + (max_y - p[1]) * scale) * 10)

    shapes = []
    for iso_code, polygons in regions:
        grid = [[[to_tenths(p) for p in ring] for ring in polygon] for polygon in polygons]
        path = "".join(_ring_path(ring) for polygon in grid for ring in polygon)
        svg_polygons = [[[(x / 10, y / 10) for x, y in ring] for ring in polygon] for polygon in grid]
        largest = max(svg_polygons, key=lambda polygon: abs(_signed_area(polygon[0])))
        x, y = _label_point(largest)
        shapes.append(RegionShape(iso_code, path, round(x, 1), round(y, 1), iso_code in CITY_CODES))
    shapes.sort(key=lambda shape: shape.iso_code)
    return tuple(shapes), f"0 0 {WIDTH} {height}"


def shapes() -> list[RegionShape]:
    """The 20 regions sorted by ISO 3166-2 code (computed once, then cached; the list is a fresh copy)."""
    return list(_geometry()[0])


def view_box() -> str:
    """The SVG ``viewBox`` attribute value that fits every shape: ``"0 0 W H"``."""
    return _geometry()[1]


def shade_class(count: int, max_count: int) -> str:
    """The CSS class for a region with ``count`` items when the busiest region has ``max_count``.

    ``shade-0`` exactly when ``count`` is 0 (or less); otherwise ``shade-1`` … ``shade-5`` on a square-root
    scale of ``count / max_count``, which spreads the usual skewed counts (a few busy regions, many with one
    or two) over the buckets more evenly than a linear scale. Below ``max_count`` the bucket is also at most
    ``count``, so small numbers keep distinct light shades (1 → ``shade-1``, 2 → at most ``shade-2`` …);
    ``max_count`` itself (and anything above it) gets ``shade-5``. Monotonic in ``count``.
    """
    if count <= 0:
        return "shade-0"
    if max_count <= 0 or count >= max_count:
        return f"shade-{SHADES}"
    bucket = math.ceil(SHADES * math.sqrt(count / max_count) - 1e-9)
    return f"shade-{max(1, min(SHADES, count, bucket))}"


def build_map(counts: dict[str, int], *, marked: dict[str, str] | None = None) -> list[dict]:
    """Everything the ``region_map`` macro needs, one dict per region in ISO-code order.

    ``counts`` maps ISO codes to a number (missing codes count 0); ``marked`` optionally maps ISO codes to a
    mark name: ``"author"``, ``"adopted"``, ``"held"`` or ``"next"`` (the template styles these four; another
    name only adds a ``mark-<name>`` class). Each dict has ``iso_code``, ``path``, ``label_x``, ``label_y``,
    ``is_city``, ``count``, ``shade`` (a CSS class, see :func:`shade_class`) and ``mark`` (``None`` when
    unmarked). Codes that are not one of the 20 regions are ignored. The list is a :class:`MapItems`, whose
    ``view_box`` attribute equals :func:`view_box`.
    """
    marked = marked or {}
    region_counts = [(shape, int(counts.get(shape.iso_code) or 0)) for shape in _geometry()[0]]
    max_count = max(count for _, count in region_counts)
    items = MapItems()
    items.view_box = view_box()
    for shape, count in region_counts:
        items.append(
            {
                "iso_code": shape.iso_code,
                "path": shape.path,
                "label_x": shape.label_x,
                "label_y": shape.label_y,
                "is_city": shape.is_city,
                "count": count,
                "shade": shade_class(count, max_count),
                "mark": marked.get(shape.iso_code) or None,
            }
        )
    return items
