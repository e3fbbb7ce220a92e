"""Region queries and the reference-data loader."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from app.regions.models import current_language

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

    Works on a bare connection with table reflection-free core statements, so that Alembic data
    migrations can call it whatever the ORM models look like later.

    :return: counts of inserted rows per table.
    """
    meta = sa.MetaData()
    region = sa.Table("region", meta, autoload_with=connection)
    municipality = sa.Table("municipality", meta, autoload_with=connection)
    akimat = sa.Table("akimat", meta, autoload_with=connection)
    inserted = {"region": 0, "municipality": 0, "akimat": 0}

    region_ids: dict[str, int] = {}
    region_kinds: dict[str, str] = {}
    for row in read_regions():
        values = {k: row[k] for k in ("iso_code", "kind", "name_en", "name_ru", "name_kk", "name_kk_latn",
                                       "admin_center_en", "admin_center_ru")}
        existing = connection.execute(sa.select(region.c.id).where(region.c.iso_code == row["iso_code"])).scalar()
        if existing is None:
            existing = connection.execute(region.insert().values(**values)).inserted_primary_key[0]
            inserted["region"] += 1
        else:
            connection.execute(region.update().where(region.c.id == existing).values(**values))
        region_ids[row["iso_code"]] = existing
        region_kinds[row["iso_code"]] = row["kind"]

    for iso, region_id in region_ids.items():
        found = connection.execute(
            sa.select(akimat.c.id).where(akimat.c.region_id == region_id, akimat.c.municipality_id.is_(None))
        ).scalar()
        if found is None:
            level = "oblast" if region_kinds[iso] == "oblast" else "city"
            connection.execute(akimat.insert().values(region_id=region_id, municipality_id=None, level=level))
            inserted["akimat"] += 1

    for row in read_municipalities():
        region_id = region_ids[row["region_iso"]]
        values = {"region_id": region_id, "kind": row["kind"], "name_en": row["name_en"],
                  "name_ru": row["name_ru"], "name_kk": row["name_kk"]}
        existing = connection.execute(
            sa.select(municipality.c.id).where(
                municipality.c.region_id == region_id, municipality.c.name_en == row["name_en"]
            )
        ).scalar()
        if existing is None:
            existing = connection.execute(municipality.insert().values(**values)).inserted_primary_key[0]
            inserted["municipality"] += 1
        else:
            connection.execute(municipality.update().where(municipality.c.id == existing).values(**values))
        found = connection.execute(sa.select(akimat.c.id).where(akimat.c.municipality_id == existing)).scalar()
        if found is None:
            level = "city" if row["kind"] == "city" else "district"
            connection.execute(akimat.insert().values(region_id=region_id, municipality_id=existing, level=level))
            inserted["akimat"] += 1
    return inserted


def all_regions() -> list[Region]:
    """The 20 regions, sorted by name in the UI language."""
    regions = db.session.scalars(sa.select(Region)).all()
    return sorted(regions, key=lambda r: r.name())


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
    for region_name in sorted(groups):
        # The region's own akimat first, then its districts and cities alphabetically.
        choices.extend(
            SelectChoice(akimat_id, name, optgroup=region_name) for _m, name, akimat_id in sorted(groups[region_name])
        )
    return choices


def get_region_or_404(iso_code: str) -> Region:
    """Return the region with ``iso_code`` (case-insensitive) or abort with 404."""
    return db.first_or_404(sa.select(Region).where(Region.iso_code == iso_code.upper()))


def municipalities_of(region: Region) -> list[Municipality]:
    """The region's districts and cities, cities first, by name in the UI language."""
    return sorted(region.municipalities, key=lambda m: (m.kind != "city", m.name()))
