"""Kazakhstan time for meetings: every time is stored in UTC and shown in Asia/Almaty time.

Kazakhstan has used one zone, UTC+5, since 1 March 2024. An operating system with older time-zone data still
says UTC+6 for Almaty, so the zone is loaded from the pinned ``tzdata`` package (requirements.txt), never
from the system: the same rules everywhere.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import format_datetime
from flask_babel import format_time

from app.clock import as_utc
from app.clock import utcnow

ZONE_NAME = "Asia/Almaty"


def _load_zone() -> ZoneInfo:
    """Asia/Almaty from the ``tzdata`` package's compiled zone file."""
    with resources.files("tzdata.zoneinfo").joinpath("Asia", "Almaty").open("rb") as handle:
        return ZoneInfo.from_file(handle, key=ZONE_NAME)


KZ = _load_zone()


def to_local(moment: datetime | None) -> datetime | None:
    """A stored (UTC) time as an aware datetime in Kazakhstan time (a naive value is taken to be UTC)."""
    if moment is None:
        return None
    return as_utc(moment).astimezone(KZ)


def to_utc(local: datetime | None) -> datetime | None:
    """A time entered in Kazakhstan time (naive, as from a form) as an aware UTC datetime; aware values are
    converted as they are."""
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=KZ)
    return local.astimezone(UTC)


def format_local(moment: datetime | None, format: str | None = None) -> str:
    """Date and time in Kazakhstan time, in the current UI language: by default the long date and the short
    time ("12 сентября 2027 г., 10:00"), else Babel's ``format`` ("short", "medium", a pattern)."""
    if moment is None:
        return ""
    if format is None:
        return f"{format_local_date(moment)}, {format_local_time(moment)}"
    return format_datetime(to_local(moment), format, rebase=False)


def format_local_date(moment: datetime | None, format: str = "long") -> str:
    """The Kazakhstan-time date of ``moment`` in the current UI language."""
    if moment is None:
        return ""
    return format_date(to_local(moment), format, rebase=False)


def format_local_time(moment: datetime | None, format: str = "short") -> str:
    """The Kazakhstan-time clock time of ``moment`` (e.g. "10:00") in the current UI language."""
    if moment is None:
        return ""
    return format_time(to_local(moment), format, rebase=False)


def format_span(starts: datetime, ends: datetime) -> str:
    """A meeting's time span in Kazakhstan time: "12 September 2027, 10:00–18:00" on one day, else both ends."""
    start, end = to_local(starts), to_local(ends)
    if start.date() == end.date():
        return f"{format_local_date(starts)}, {format_local_time(starts)}–{format_local_time(ends)}"
    return (f"{format_local_date(starts)}, {format_local_time(starts)} – "
            f"{format_local_date(ends)}, {format_local_time(ends)}")


def input_value(moment: datetime | None) -> datetime | None:
    """A stored time as the naive Kazakhstan-time value a ``datetime-local`` form field shows."""
    local = to_local(moment)
    return local.replace(tzinfo=None) if local is not None else None


def offset_label(moment: datetime | None) -> str:
    """The UTC offset of Kazakhstan time at ``moment``: "+5" (or "+6" before March 2024)."""
    offset = to_local(moment or utcnow()).utcoffset()
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    return f"{hours:+d}" + (f":{rest // 60:02d}" if rest else "")
