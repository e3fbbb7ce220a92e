"""The one clock: every time in this application is an aware UTC ``datetime``.

:func:`utcnow` is the current time; :class:`UTCDateTime` is the column type that stores and hands back aware
UTC values on SQLite and PostgreSQL alike (SQLite keeps no time zone, so without it a value written aware comes
back naive); :func:`iso_utc` is the one ISO 8601 rendering.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa

from app.inputs import parse_int


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime; a naive value is taken to be UTC already (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """``DateTime(timezone=True)`` whose values are always aware UTC datetimes, written and read.

    The implementation type is the plain ``sa.DateTime(timezone=True)`` the columns had before, so the
    database schema (and Alembic's comparison of it with the models) does not change.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store UTC: aware values are converted, naive ones are taken to be UTC."""
        return as_utc(value)

    def process_result_value(self, value, dialect):
        """Hand back an aware UTC datetime (SQLite returns the stored UTC value naive)."""
        return as_utc(value)

    @property
    def python_type(self):
        """Plain ``datetime``, as the implementation type says."""
        return datetime


def iso_utc(moment: datetime | None, timespec: str = "seconds") -> str | None:
    """``moment`` as ISO 8601 in UTC with a ``Z`` suffix ("2024-05-01T12:30:15Z"); None stays None.

    :param timespec: as for :meth:`datetime.isoformat` ("seconds", "microseconds", ...).
    """
    if moment is None:
        return None
    return as_utc(moment).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_year(value) -> int | None:
    """A year (or another small number, such as a slot) as a form or a file gives it: an int, or up to four
    digits with spaces around; None for anything else (a bool, a sign, a fraction, five digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return parse_int(text, 0, 9999) if text.isdigit() and len(text) <= 4 else None
