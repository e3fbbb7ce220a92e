"""Region queries and the reference-data loader."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.i18n import collation_key
from app.i18n import current_language
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region

DATA_DIR = Path(__file__).parent / "data"


def read_regions() -> list[dict]:
    """Rows of ``data/regions.csv`` (the 20 first-level units)."""
    with (DATA_DIR / "regions.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_municipalities() -> list[dict]:
    """Rows of ``data/districts.csv`` (districts and cities of oblast significance)."""
    with (DATA_DIR / "districts.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sync_reference_data(connection: Connection) -> dict[str, int]:
    """Insert or update regions, municipalities and their akimats from the data files. Idempotent.

    Uses core statements on lightweight table definitions of just the columns it touches, not the ORM
    models, so that Alembic data migrations can call it whatever the models look like later. Reads what
    exists in one query per table and writes only the differences, in batches.

    :return: counts of inserted rows per table.
    """
    region = sa.table("region", *(sa.column(c) for c in ("id", "iso_code", "kind", "name_en", "name_ru",
                                                         "name_kk", "name_kk_latn", "admin_center_en",
                                                         "admin_center_ru")))
    municipality = sa.table("municipality", *(sa.column(c) for c in ("id", "region_id", "kind", "name_en",
                                                                     "name_ru", "name_kk")))
    akimat = sa.table("akimat", *(sa.column(c) for c in ("id", "region_id", "municipality_id", "level")))
    region_columns = (
        "iso_code",
        "kind",
        "name_en",
        "name_ru",
        "name_kk",
        "name_kk_latn",
        "admin_center_en",
        "admin_center_ru",
    )
    municipality_columns = ("region_id", "kind", "name_en", "name_ru", "name_kk")
    inserted = {"region": 0, "municipality": 0, "akimat": 0}

    # Regions, keyed by ISO code.
    existing = {row.iso_code: row for row in connection.execute(sa.select(region))}
    wanted = read_regions()
    new_rows = [{c: row[c] for c in region_columns} for row in wanted if row["iso_code"] not in existing]
    if new_rows:
        connection.execute(region.insert(), new_rows)
        inserted["region"] = len(new_rows)
    for row in wanted:
        old = existing.get(row["iso_code"])
        if old is not None and any(getattr(old, c) != row[c] for c in region_columns):
            connection.execute(region.update().where(region.c.id == old.id).values({c: row[c] for c in region_columns}))
    regions = {
        row.iso_code: row for row in connection.execute(sa.select(region.c.id, region.c.iso_code, region.c.kind))
    }

    # Municipalities, keyed by (region, English name).
    existing_m = {(row.region_id, row.name_en): row for row in connection.execute(sa.select(municipality))}
    wanted_m = [
        {
            "region_id": regions[row["region_iso"]].id,
            "kind": row["kind"],
            "name_en": row["name_en"],
            "name_ru": row["name_ru"],
            "name_kk": row["name_kk"],
        }
        for row in read_municipalities()
    ]
    new_rows = [row for row in wanted_m if (row["region_id"], row["name_en"]) not in existing_m]
    if new_rows:
        connection.execute(municipality.insert(), new_rows)
        inserted["municipality"] = len(new_rows)
    for row in wanted_m:
        old = existing_m.get((row["region_id"], row["name_en"]))
        if old is not None and any(getattr(old, c) != row[c] for c in municipality_columns):
            connection.execute(municipality.update().where(municipality.c.id == old.id).values(row))

    # One akimat per region and per municipality.
    have = {(row.region_id, row.municipality_id) for row in connection.execute(sa.select(akimat))}
    new_rows = [
        {"region_id": r.id, "municipality_id": None, "level": "oblast" if r.kind == "oblast" else "city"}
        for r in regions.values()
        if (r.id, None) not in have
    ]
    for m in connection.execute(sa.select(municipality.c.id, municipality.c.region_id, municipality.c.kind)):
        if (m.region_id, m.id) not in have:
            new_rows.append(
                {"region_id": m.region_id, "municipality_id": m.id, "level": "city" if m.kind == "city" else "district"}
            )
    if new_rows:
        connection.execute(akimat.insert(), new_rows)
        inserted["akimat"] = len(new_rows)
    return inserted


def find_akimat(iso: str, municipality: str | None = None) -> Akimat:
    """The akimat of region ``iso``, or of its district/city named ``municipality`` (English name).

    :raise sqlalchemy.exc.NoResultFound: no such akimat.
    """
    select = sa.select(Akimat).join(Region, Akimat.region_id == Region.id).where(Region.iso_code == iso)
    if municipality is None:
        select = select.where(Akimat.municipality_id.is_(None))
    else:
        select = select.join(Municipality, Akimat.municipality_id == Municipality.id).where(
            Municipality.name_en == municipality
        )
    return db.session.scalars(select).one()


def akimat_of(region: Region, municipality: Municipality | None) -> Akimat | None:
    """The akimat of ``region`` (``municipality`` None) or of the municipality; None when there is none.

    The rows at hand, where :func:`find_akimat` takes codes and names."""
    select = sa.select(Akimat).where(Akimat.region_id == region.id)
    if municipality is None:
        select = select.where(Akimat.municipality_id.is_(None))
    else:
        select = select.where(Akimat.municipality_id == municipality.id)
    return db.session.scalar(select)


def all_regions() -> list[Region]:
    """The 20 regions, sorted by name in the UI language."""
    regions = db.session.scalars(sa.select(Region)).all()
    return sorted(regions, key=lambda r: collation_key(r.name()))


def akimat_choices(language: str | None = None) -> list[SelectChoice]:
    """Akimats for a select box, grouped by region (an empty first choice, value 0)."""
    language = language or current_language()
    akimats = db.session.scalars(
        sa.select(Akimat).options(sa.orm.joinedload(Akimat.region), sa.orm.joinedload(Akimat.municipality))
    ).all()
    groups: dict[str, list[tuple[bool, str, int]]] = {}
    for akimat in akimats:
        entry = (akimat.municipality_id is not None, akimat.name(language), akimat.id)
        groups.setdefault(akimat.region.name(language), []).append(entry)
    choices = [SelectChoice(0, "—")]
    for region_name in sorted(groups, key=lambda name: collation_key(name, language)):
        # The region's own akimat first, then its districts and cities alphabetically.
        choices.extend(
            SelectChoice(akimat_id, name, optgroup=region_name) for _m, name, akimat_id in sorted(
                groups[region_name], key=lambda entry: (entry[0], collation_key(entry[1], language), entry[2]))
        )
    return choices


def get_region_or_404(iso_code: str) -> Region:
    """Return the region with ``iso_code`` (case-insensitive) or abort with 404."""
    return db.first_or_404(sa.select(Region).where(Region.iso_code == iso_code.upper()))


def municipalities_of(region: Region) -> list[Municipality]:
    """The region's districts and cities, cities first, by name in the UI language."""
    return sorted(region.municipalities, key=lambda m: (m.kind != "city", collation_key(m.name())))


def map_context(counts: dict[str, int], endpoint: str, marked: dict[str, str] | None = None) -> dict:
    """What ``templates/regions/_map.html`` needs: shapes with counts and marks, names in the UI
    language, and a link per region to ``endpoint`` (``case_studies.index`` filters by region,
    ``regions.profile`` opens the profile)."""
    from flask import url_for

    from app.regions import map as region_map

    regions = db.session.scalars(sa.select(Region)).all()
    key = "region" if endpoint == "case_studies.index" else "iso_code"
    return {
        "map_items": region_map.build_map(counts, marked=marked),
        "region_names": {r.iso_code: r.name() for r in regions},
        "map_links": {r.iso_code: url_for(endpoint, **{key: r.iso_code}) for r in regions},
    }
