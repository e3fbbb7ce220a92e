"""Rotation scopes and their eligible hosts, and the host codes the rotation engine and the API use.

- ``national``: the 20 first-level units; a host code is the region's ISO code (``KZ-75``).
- a regional scope, named by the region's ISO code (``KZ-61``): that region's districts and cities of oblast
  significance; a host code is the municipality's English name (unique inside its region, stable, readable in
  the API, and its sorted order is the documented tie-break).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.meetings.models import NATIONAL
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region


@dataclass(frozen=True)
class Host:
    """An eligible host of a scope: its code, its region and (regional scope) its municipality."""

    code: str
    region: Region
    municipality: Municipality | None = None

    @property
    def place(self) -> Region | Municipality:
        """The hosting territory (has ``name(language)``)."""
        return self.municipality or self.region

    def name(self, language: str | None = None) -> str:
        """The host's name in ``language`` (default: the UI language)."""
        return self.place.name(language)

    def akimat(self) -> Akimat | None:
        """The host's akimat."""
        return db.session.scalar(
            sa.select(Akimat).where(
                Akimat.region_id == self.region.id,
                Akimat.municipality_id.is_(None)
                if self.municipality is None
                else Akimat.municipality_id == self.municipality.id,
            )
        )


def is_valid_scope(scope: str | None) -> bool:
    """Whether ``scope`` is ``national`` or the ISO code of a region."""
    if scope == NATIONAL:
        return True
    return bool(scope) and db.session.scalar(sa.select(Region.id).where(Region.iso_code == scope)) is not None


def scope_region(scope: str) -> Region | None:
    """The region of a regional scope (None for ``national`` or an unknown code)."""
    if scope == NATIONAL:
        return None
    return db.session.scalar(sa.select(Region).where(Region.iso_code == scope))


def eligible_hosts(scope: str) -> list[Host]:
    """Every eligible host of ``scope``, sorted by code (empty for an unknown scope)."""
    if scope == NATIONAL:
        regions = db.session.scalars(sa.select(Region).order_by(Region.iso_code))
        return [Host(region.iso_code, region) for region in regions]
    region = scope_region(scope)
    if region is None:
        return []
    municipalities = db.session.scalars(
        sa.select(Municipality).where(Municipality.region_id == region.id).order_by(Municipality.name_en)
    )
    return sorted((Host(m.name_en, region, m) for m in municipalities), key=lambda host: host.code)


def resolve_host(scope: str, code: str | None) -> Host | None:
    """The eligible host of ``scope`` with ``code`` (None when there is none)."""
    if not code:
        return None
    return next((host for host in eligible_hosts(scope) if host.code == code), None)


def host_code_of(meeting) -> str:
    """The rotation host code of a meeting (its municipality's English name in a regional scope)."""
    if meeting.scope != NATIONAL and meeting.host_municipality is not None:
        return meeting.host_municipality.name_en
    return meeting.host_region.iso_code
