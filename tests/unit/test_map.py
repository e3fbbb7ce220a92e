"""Unit tests for app/regions/map.py: the region shapes, their SVG path data and the shading (no Flask app)."""

from __future__ import annotations

import ast
import csv
import math
import re
from pathlib import Path

import pytest

from app.regions import map as region_map

ROOT = Path(__file__).resolve().parents[2]
REGIONS_CSV = ROOT / "app" / "regions" / "data" / "regions.csv"
CITIES = {"KZ-71", "KZ-75", "KZ-79"}

PATH_TOKEN = re.compile(r"[MLlz]|[+-]?(?:\d+\.?\d*|\.\d+)")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")


def expected_codes() -> list[str]:
    with REGIONS_CSV.open(encoding="utf-8", newline="") as f:
        return sorted(row["iso_code"] for row in csv.DictReader(f))


def rings(path: str) -> list[list[tuple[float, float]]]:
    """Decode the path data the way a browser does (only the commands map.py writes: M, l, z)."""
    tokens = PATH_TOKEN.findall(path)
    assert "".join(tokens) == path.replace(" ", ""), "the path has characters that are not numbers or commands"
    result: list[list[tuple[float, float]]] = []
    command = None
    numbers: list[float] = []
    x = y = 0.0

    def flush():
        nonlocal x, y
        assert len(numbers) % 2 == 0, f"odd number of coordinates after {command}"
        pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
        if command == "M":
            assert len(pairs) == 1
            x, y = pairs[0]
            result.append([(x, y)])
        elif command == "l":
            for dx, dy in pairs:
                x, y = round(x + dx, 1), round(y + dy, 1)
                result[-1].append((x, y))
        numbers.clear()

    for token in [*tokens, "M"]:
        if NUMBER.fullmatch(token):
            numbers.append(float(token))
            continue
        flush()
        command = token
        if token == "z":
            x, y = result[-1][0]
    return result


def inside(polygon_rings, px: float, py: float) -> bool:
    """Even-odd rule over all rings (the fill-rule the template uses)."""
    hit = False
    for ring in polygon_rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 <= py) != (y1 <= py) and px < x0 + (py - y0) * (x1 - x0) / (y1 - y0):
                hit = not hit
    return hit


@pytest.fixture(scope="module")
def shapes():
    return region_map.shapes()


@pytest.fixture(scope="module")
def box():
    values = [float(v) for v in region_map.view_box().split()]
    assert len(values) == 4
    return values


def test_module_is_pure():
    tree = ast.parse(Path(region_map.__file__).read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), "module docstring"
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"flask", "flask_babel", "sqlalchemy", "flask_sqlalchemy", "app"}
    for name in ("shapes", "view_box", "shade_class", "build_map"):
        assert getattr(region_map, name).__doc__, f"{name} has no docstring"


def test_twenty_regions_with_the_iso_codes(shapes):
    assert [s.iso_code for s in shapes] == expected_codes()
    assert len(shapes) == 20
    assert all(isinstance(s, region_map.RegionShape) for s in shapes)


def test_view_box_is_about_1000_wide(box):
    x, y, width, height = box
    assert (x, y) == (0, 0)
    assert width == 1000
    assert 450 < height < 700  # Kazakhstan is about 1.8 times wider than high in this projection
    assert region_map.view_box() == f"0 0 {int(width)} {int(height)}"


def test_paths_are_numbers_and_commands_only(shapes):
    for shape in shapes:
        assert shape.path, shape.iso_code
        assert re.fullmatch(r"[MlZz0-9. \-]+", shape.path), shape.iso_code
        assert shape.path.startswith("M") and shape.path.endswith("z")
        assert rings(shape.path), shape.iso_code


def test_every_coordinate_is_inside_the_view_box(shapes, box):
    _, _, width, height = box
    for shape in shapes:
        for ring in rings(shape.path):
            assert len(ring) >= 3, shape.iso_code
            for x, y in ring:
                assert 0 <= x <= width and 0 <= y <= height, (shape.iso_code, x, y)
                assert x == round(x, 1) and y == round(y, 1)


def test_all_polygon_parts_and_holes_are_kept(shapes):
    parts = {s.iso_code: s.path.count("M") for s in shapes}
    assert parts["KZ-71"] == 5  # Astana's exclaves
    assert parts["KZ-75"] == 2
    assert parts["KZ-11"] >= 2  # Akmola has a hole where Astana lies
    assert parts["KZ-19"] >= 2  # Almaty Region: hole for Almaty city
    assert parts["KZ-61"] >= 2  # Turkistan: hole for Shymkent
    assert parts["KZ-23"] > 10  # Caspian islands


def test_label_points_are_inside_the_view_box_and_the_region(shapes, box):
    _, _, width, height = box
    for shape in shapes:
        assert 0 <= shape.label_x <= width and 0 <= shape.label_y <= height, shape.iso_code
        assert inside(rings(shape.path), shape.label_x, shape.label_y), shape.iso_code


def test_north_is_up_and_the_caspian_on_the_left(shapes):
    label = {s.iso_code: (s.label_x, s.label_y) for s in shapes}
    assert label["KZ-59"][1] < label["KZ-61"][1]  # North Kazakhstan above Turkistan
    assert label["KZ-27"][0] < label["KZ-63"][0]  # West Kazakhstan left of East Kazakhstan
    assert label["KZ-47"][0] < 250  # Mangystau on the Caspian, far left
    assert label["KZ-75"][0] > 700 and label["KZ-75"][1] > 400  # Almaty bottom right
    assert label["KZ-71"][1] < label["KZ-35"][1]  # Astana north of Karaganda


def test_the_three_cities_are_flagged(shapes):
    assert {s.iso_code for s in shapes if s.is_city} == CITIES
    assert region_map.CITY_CODES == CITIES


def test_cities_lie_in_the_holes_of_their_oblasts(shapes):
    by_code = {s.iso_code: s for s in shapes}
    for city, oblast in (("KZ-71", "KZ-11"), ("KZ-75", "KZ-19"), ("KZ-79", "KZ-61")):
        c = by_code[city]
        assert not inside(rings(by_code[oblast].path), c.label_x, c.label_y), city


def test_projection_origin_and_orientation():
    project = region_map._lcc()
    x0, y0 = project(region_map.LON_0, region_map.LAT_0)
    assert abs(x0) < 1e-6 and abs(y0) < 1e-6
    assert project(region_map.LON_0, 50)[1] > 0 > project(region_map.LON_0, 46)[1]
    assert abs(project(region_map.LON_0, 50)[0]) < 1e-6
    assert project(70, 48)[0] > 0 > project(64, 48)[0]
    # conformal with scale 1 on the standard parallels: one degree of longitude at 45° N is about 78.8 km
    dx = math.dist(project(67, 45), project(68, 45))
    assert 78_500 < dx < 79_100


@pytest.mark.parametrize("max_count", [1, 2, 3, 5, 10, 37, 1000])
def test_shade_class_is_monotonic_and_zero_only_for_zero(max_count):
    classes = [region_map.shade_class(count, max_count) for count in range(max_count + 1)]
    levels = [int(c.removeprefix("shade-")) for c in classes]
    assert all(re.fullmatch(r"shade-[0-5]", c) for c in classes)
    assert levels[0] == 0
    assert 0 not in levels[1:]
    assert levels == sorted(levels)
    assert levels[-1] == 5  # the busiest region is always the darkest
    if max_count > 1:
        assert levels[1] == 1  # and a single item always the lightest non-zero shade


def test_shade_class_spreads_skewed_counts():
    levels = {region_map.shade_class(count, 40) for count in range(41)}
    assert levels == {f"shade-{n}" for n in range(6)}
    assert region_map.shade_class(0, 0) == "shade-0"
    assert region_map.shade_class(50, 40) == "shade-5"


def test_build_map_carries_counts_and_marks(shapes):
    counts = {"KZ-75": 12, "KZ-71": 4, "KZ-19": 1, "XX-99": 500}
    marked = {"KZ-75": "author", "KZ-19": "adopted", "KZ-63": "held", "KZ-10": "next"}
    items = region_map.build_map(counts, marked=marked)
    assert [item["iso_code"] for item in items] == [s.iso_code for s in shapes]
    keys = {"iso_code", "path", "label_x", "label_y", "is_city", "count", "shade", "mark"}
    assert all(set(item) == keys for item in items)
    by_code = {item["iso_code"]: item for item in items}
    assert by_code["KZ-75"]["count"] == 12 and by_code["KZ-75"]["shade"] == "shade-5"  # unknown codes ignored
    assert by_code["KZ-71"]["count"] == 4
    assert by_code["KZ-19"]["shade"] == "shade-1"
    assert by_code["KZ-55"]["count"] == 0 and by_code["KZ-55"]["shade"] == "shade-0"
    assert {code: item["mark"] for code, item in by_code.items() if item["mark"]} == marked
    assert by_code["KZ-55"]["mark"] is None
    shape = shapes[0]
    assert (items[0]["path"], items[0]["label_x"], items[0]["label_y"]) == (shape.path, shape.label_x, shape.label_y)
    assert items.view_box == region_map.view_box()


def test_build_map_without_data():
    items = region_map.build_map({})
    assert len(items) == 20
    assert {item["shade"] for item in items} == {"shade-0"}
    assert {item["mark"] for item in items} == {None}


def test_output_is_deterministic():
    first = region_map.build_map({"KZ-75": 3}, marked={"KZ-75": "author"})
    region_map._geometry.cache_clear()
    second = region_map.build_map({"KZ-75": 3}, marked={"KZ-75": "author"})
    assert first == second
    assert region_map.shapes() == region_map.shapes()
    assert region_map.shapes() is not region_map.shapes()  # callers get a copy, the cache stays intact


def test_total_path_size_stays_small(shapes):
    assert sum(len(s.path) for s in shapes) < 60_000
