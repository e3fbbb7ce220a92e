"""Region, Municipality (district or city of oblast significance) and Akimat models."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db
from app.i18n import current_language

AKIMAT_LEVELS = ("oblast", "city", "district", "rural")


class NamedMixin:
    """Names in the three languages, picked by the UI language."""

    name_en: Mapped[str]
    name_ru: Mapped[str]
    name_kk: Mapped[str]

    def name(self, language: str | None = None) -> str:
        """Return the name in ``language`` (default: the request's UI language)."""
        return getattr(self, f"name_{language or current_language()}")


class Region(NamedMixin, db.Model):
    """One of the 20 first-level units: 17 oblasts and the cities of Astana, Almaty and Shymkent."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    iso_code: Mapped[str] = mapped_column(sa.String(6), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # oblast | city
    name_en: Mapped[str] = mapped_column(sa.String(120))
    name_ru: Mapped[str] = mapped_column(sa.String(120))
    name_kk: Mapped[str] = mapped_column(sa.String(120))
    name_kk_latn: Mapped[str] = mapped_column(sa.String(120))
    admin_center_en: Mapped[str] = mapped_column(sa.String(120))
    admin_center_ru: Mapped[str] = mapped_column(sa.String(120))

    municipalities: Mapped[list[Municipality]] = relationship(
        back_populates="region", order_by="Municipality.name_en"
    )

    def __repr__(self) -> str:
        return f"<Region {self.iso_code}>"


class Municipality(NamedMixin, db.Model):
    """A district (аудан / район) or a city of oblast significance inside a region."""

    __tablename__ = "municipality"
    __table_args__ = (sa.UniqueConstraint("region_id", "name_en", name="uq_municipality_region_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # district | city
    name_en: Mapped[str] = mapped_column(sa.String(120))
    name_ru: Mapped[str] = mapped_column(sa.String(120))
    name_kk: Mapped[str] = mapped_column(sa.String(120))

    region: Mapped[Region] = relationship(back_populates="municipalities")

    def __repr__(self) -> str:
        return f"<Municipality {self.name_en}>"


class Akimat(db.Model):
    """A local executive body: of a region (municipality is null) or of a district or city."""

    __tablename__ = "akimat"
    __table_args__ = (sa.UniqueConstraint("region_id", "municipality_id", name="uq_akimat_region_municipality"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(10))  # oblast | city | district | rural

    region: Mapped[Region] = relationship()
    municipality: Mapped[Municipality | None] = relationship()

    @property
    def place(self) -> NamedMixin:
        """The territory the akimat governs."""
        return self.municipality or self.region

    def name(self, language: str | None = None) -> str:
        """Return a display name such as "Almaty akimat" in the UI language."""
        place = self.place.name(language)
        if self.municipality is not None:
            return _("%(place)s akimat, %(region)s", place=place, region=self.region.name(language))
        return _("%(place)s akimat", place=place)

    def __repr__(self) -> str:
        return f"<Akimat {self.region_id}/{self.municipality_id}>"
