"""The host rotation seen from the database: what the pure engine (:mod:`app.meetings.rotation`) is fed, and the
organisers' overrides (pins and exclusions), each validated and written to the audit log.

What the engine gets for a scope:

- **history**: the meetings of the scope in state ``held``, as (year, slot, host code);
- **pins**: the organisers' :class:`RotationPin` rows, *and* every meeting of the scope that is scheduled but not
  yet held (planned, registration open or closed, postponed): a meeting that has been created for a slot fixes
  that slot's host just as a pin does. When both exist for one slot, the meeting wins (it is what will happen);
  cancelled meetings count for nothing;
- **exclusions**: the active :class:`RotationExclusion` rows (not lifted);
- **hosts**: :func:`app.meetings.hosts.eligible_hosts`.

Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.audit.services import record
from app.clock import parse_year
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import collation_key
from app.meetings.hosts import Host
from app.meetings.hosts import eligible_hosts
from app.meetings.hosts import host_code_of
from app.meetings.hosts import is_valid_scope
from app.meetings.hosts import resolve_host
from app.meetings.models import NATIONAL
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin
from app.meetings.rotation import engine as rotation
from app.meetings.timezone import KZ
from app.regions.models import Region

PLAN_YEARS = 10  # the organisers' page shows, and pins may fall in, this many years from the current one
MAX_YEARS = 50  # the API's upper bound for ``years``
MAX_EXCLUSION_YEARS = 50  # an exclusion may run at most this far ahead
MAX_REASON_CHARS = 2000
SCHEDULED_STATES = ("planned", "registration_open", "registration_closed", "postponed")
PER_YEAR_CHOICES = (1, 2)


def this_year() -> int:
    """The current year in Kazakhstan."""
    return datetime.now(KZ).year


def plan_range(start: int | None = None) -> range:
    """The years of the organisers' plan (and of the years a pin may name): this year and the next nine."""
    first = this_year() if start is None else start
    return range(first, first + PLAN_YEARS)


def oblast_scopes() -> list[Region]:
    """The 17 oblasts, whose district rotations are scopes of their own, by name in the UI language."""
    regions = db.session.scalars(sa.select(Region).where(Region.kind == "oblast")).all()
    return sorted(regions, key=lambda region: collation_key(region.name()))


def city_scopes() -> list[Region]:
    """Astana, Almaty and Shymkent, whose city districts can rotate too, by name in the UI language."""
    regions = db.session.scalars(sa.select(Region).where(Region.kind == "city")).all()
    return sorted(regions, key=lambda region: collation_key(region.name()))


def scope_name(scope: str) -> str:
    """A scope's display name in the UI language."""
    if scope == NATIONAL:
        return str(_l("National rotation (20 regions)"))
    region = db.session.scalar(sa.select(Region).where(Region.iso_code == scope))
    return str(_l("%(region)s: districts and cities", region=region.name())) if region else scope


# --- what the engine is fed -------------------------------------------------------------------------------


def held_meetings(scope: str) -> list[Meeting]:
    """The held meetings of ``scope``, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.scope == scope, Meeting.state == MeetingState.HELD)
            .order_by(Meeting.year, Meeting.slot, Meeting.starts_at)
        )
    )


def scheduled_meetings(scope: str) -> list[Meeting]:
    """The meetings of ``scope`` that are scheduled but not held or cancelled, by (year, slot)."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.scope == scope, Meeting.state.in_(SCHEDULED_STATES))
            .order_by(Meeting.year, Meeting.slot, Meeting.starts_at)
        )
    )


def pins_of(scope: str) -> list[RotationPin]:
    """The organisers' pins of ``scope``, by (year, slot)."""
    return list(
        db.session.scalars(sa.select(RotationPin).where(RotationPin.scope == scope).order_by(RotationPin.year,
                                                                                              RotationPin.slot))
    )


def exclusions_of(scope: str, *, include_lifted: bool = False) -> list[RotationExclusion]:
    """The exclusions of ``scope`` (only the active ones unless ``include_lifted``), newest first."""
    select = sa.select(RotationExclusion).where(RotationExclusion.scope == scope)
    if not include_lifted:
        select = select.where(RotationExclusion.lifted_at.is_(None))
    return list(db.session.scalars(select.order_by(RotationExclusion.created_at.desc(), RotationExclusion.id.desc())))


def history_of(scope: str) -> list[rotation.HeldMeeting]:
    """The engine's history: one :class:`~app.meetings.rotation.HeldMeeting` per held meeting of ``scope``.

    Should two held meetings name the same (year, slot), the earlier one counts (the engine takes one meeting a
    slot); slots other than 1 and 2 are left out.
    """
    history: dict[tuple[int, int], rotation.HeldMeeting] = {}
    for meeting in held_meetings(scope):
        if meeting.slot in PER_YEAR_CHOICES:
            history.setdefault((meeting.year, meeting.slot), rotation.HeldMeeting(meeting.year, meeting.slot,
                                                                                 host_code_of(meeting)))
    return list(history.values())


def needs_two_per_year(scope: str, start_year: int, years: int) -> int | None:
    """The first year of the window in which ``scope`` held a second meeting (None if none): such a window can
    only be shown with two meetings a year."""
    last = start_year + years - 1
    return next((m.year for m in history_of(scope) if m.slot == 2 and start_year <= m.year <= last), None)


def effective_pins(scope: str) -> list[rotation.Pin]:
    """The engine's pins: scheduled meetings first, then the organisers' pins of slots no meeting fills yet.

    Only one pin per (year, slot) is returned; held slots get none (the history speaks for them).
    """
    held = {(m.year, m.slot) for m in held_meetings(scope)}
    pins: dict[tuple[int, int], rotation.Pin] = {}
    for meeting in scheduled_meetings(scope):
        key = (meeting.year, meeting.slot)
        if key not in held and key not in pins:
            pins[key] = rotation.Pin(meeting.year, meeting.slot, host_code_of(meeting), "meeting scheduled")
    for pin in pins_of(scope):
        key = (pin.year, pin.slot)
        if key not in held and key not in pins:
            pins[key] = rotation.Pin(pin.year, pin.slot, pin.host_code, pin.reason)
    return [pins[key] for key in sorted(pins)]


def active_exclusions(scope: str) -> list[rotation.Exclusion]:
    """The engine's exclusions: every active exclusion of ``scope``."""
    return [rotation.Exclusion(e.host_code, e.until_year, e.reason) for e in exclusions_of(scope)]


def build(scope: str, *, start_year: int, years: int, per_year: int = 1) -> rotation.Plan:
    """The plan of ``scope`` for ``years`` years from ``start_year`` with ``per_year`` meetings a year.

    Pins and scheduled meetings before the plan's first year, or in a second slot of a one-meeting plan, are
    left out. Those after its last year are passed on: the engine keeps their hosts' turns free, so a 10-year
    plan is always the beginning of the 20-year one. Check :func:`needs_two_per_year` first: a window with two held
    meetings in a year cannot be planned with one a year (the engine raises ``ValueError``).
    """
    last = start_year + years - 1
    codes = [host.code for host in eligible_hosts(scope)]
    if not codes:  # a region without districts in the reference data: nothing to plan, and no error page
        return rotation.Plan(tuple(rotation.Slot(year, slot, None, rotation.REASON_NO_HOST, None)
                                   for year in range(start_year, last + 1) for slot in range(1, per_year + 1)), ())
    pins = [p for p in effective_pins(scope) if start_year <= p.year and p.slot <= per_year]
    return rotation.build_plan(
        codes,
        history_of(scope),
        start_year=start_year,
        years=years,
        per_year=per_year,
        pins=pins,
        exclusions=active_exclusions(scope),
    )


@dataclass(frozen=True)
class CycleState:
    """Where the current cycle stands: who hosted in it (code → year), and who has not yet."""

    hosted: dict[str, int]
    waiting: list[str]


def cycle_state(scope: str) -> CycleState:
    """Walk the held meetings in order; a cycle ends when every eligible host has hosted once in it."""
    codes = [host.code for host in eligible_hosts(scope)]
    wanted = set(codes)
    hosted: dict[str, int] = {}
    for meeting in held_meetings(scope):
        code = host_code_of(meeting)
        if code not in wanted:
            continue  # a host that is no longer eligible does not count towards the cycle
        if code in hosted:  # hosting again: the engine only allows that in a new cycle
            hosted = {}
        hosted[code] = meeting.year
        if set(hosted) == wanted:
            hosted = {}
    return CycleState(hosted=hosted, waiting=[code for code in codes if code not in hosted])


# --- the organisers' overrides ----------------------------------------------------------------------------


def _clean_reason(reason: str | None, errors: list, empty_message) -> str:
    text = (reason or "").replace("\r\n", "\n").strip()
    if not text:
        errors.append(("reason", empty_message))
    elif len(text) > MAX_REASON_CHARS:
        errors.append(("reason", _l("At most %(max)d characters.", max=MAX_REASON_CHARS)))
    return text


def _check_scope(scope: str | None) -> str:
    if not is_valid_scope(scope):
        raise ValidationFailed([("scope", _l("Choose a rotation from the list."))])
    return scope


def _host_name(scope: str, code: str) -> str:
    host = resolve_host(scope, code)
    return host.name() if host else code


def add_pin(actor, scope: str, year, slot, host_code: str | None, reason: str | None) -> RotationPin:
    """Pin ``host_code`` to the (``year``, ``slot``) meeting of ``scope``, with a reason (audit-logged).

    :raise ValidationFailed: unknown scope or host, a year outside :func:`plan_range`, a slot other than 1 or 2,
        a slot already held, pinned or filled by a scheduled meeting, a host excluded in that year, or an empty
        reason. Nothing is changed then.
    """
    scope = _check_scope(scope)
    errors: list[tuple[str | None, object]] = []
    years = plan_range()
    number = parse_year(year)
    if number is None or number not in years:
        errors.append(("year", _l("Choose a year from %(first)s to %(last)s: pins can only be set inside the "
                                  "plan.", first=years.start, last=years.stop - 1)))
    slot_number = parse_year(slot)
    if slot_number not in PER_YEAR_CHOICES:
        errors.append(("slot", _l("Choose the first or the second meeting of the year.")))
    host: Host | None = resolve_host(scope, (host_code or "").strip())
    if host is None:
        errors.append(("host", _l("Choose a host from the list: this one is not a host of this rotation.")))
    text = _clean_reason(reason, errors, _l("Say why this host is pinned: the reason is kept in the audit log."))
    if not errors:
        key = (number, slot_number)
        held = next((m for m in held_meetings(scope) if (m.year, m.slot) == key), None)
        existing = db.session.scalar(
            sa.select(RotationPin).where(RotationPin.scope == scope, RotationPin.year == number,
                                         RotationPin.slot == slot_number)
        )
        scheduled = next((m for m in scheduled_meetings(scope) if (m.year, m.slot) == key), None)
        excluded = next((e for e in exclusions_of(scope) if e.host_code == host.code and number < e.until_year), None)
        if held is not None:
            errors.append(("year", _l("The meeting of %(year)s (%(slot)s) has already been held.", year=number,
                                      slot=slot_number)))
        elif existing is not None:
            errors.append(("host", _l("%(host)s is already pinned to this meeting. Remove that pin first: a meeting "
                                      "has one host.", host=_host_name(scope, existing.host_code))))
        elif scheduled is not None and host_code_of(scheduled) != host.code:
            errors.append(("host", _l("A meeting hosted by %(host)s is already scheduled for this slot.",
                                      host=_host_name(scope, host_code_of(scheduled)))))
        elif excluded is not None:
            errors.append(("host", _l("%(host)s is excluded until %(year)s. Lift the exclusion first.",
                                      host=host.name(), year=excluded.until_year)))
    if errors:
        raise ValidationFailed(errors)
    pin = RotationPin(scope=scope, year=number, slot=slot_number, host_code=host.code, reason=text,
                      created_by_id=actor.id if actor is not None else None)
    try:
        # Two organisers pinning one slot at once: the unique constraint decides, inside a savepoint.
        with db.session.begin_nested():
            db.session.add(pin)
    except IntegrityError:
        raise ValidationFailed([("host", _l("Another host has just been pinned to this meeting. Remove that pin "
                                            "first: a meeting has one host."))]) from None
    record(actor, "rotation.pin_added", pin, {"scope": scope, "year": number, "slot": slot_number,
                                              "host": host.code}, reason=text)
    return pin


def remove_pin(actor, pin: RotationPin, reason: str | None) -> None:
    """Remove a pin, saying why (audit-logged).

    :raise ValidationFailed: empty reason.
    """
    errors: list = []
    text = _clean_reason(reason, errors, _l("Say why the pin is removed: the reason is kept in the audit log."))
    if errors:
        raise ValidationFailed(errors)
    record(actor, "rotation.pin_removed", pin, {"scope": pin.scope, "year": pin.year, "slot": pin.slot,
                                                "host": pin.host_code, "pinned_because": pin.reason}, reason=text)
    db.session.delete(pin)
    db.session.flush()


def add_exclusion(actor, scope: str, host_code: str | None, until_year, reason: str | None) -> RotationExclusion:
    """Exclude ``host_code`` of ``scope`` from hosting before ``until_year``, with a reason (audit-logged).
    The host is deferred, not skipped: it keeps its place and hosts as soon as the exclusion ends.

    :raise ValidationFailed: unknown scope or host, a year that is not after this year or too far ahead, a host
        already excluded or pinned in the excluded years, or an empty reason. Nothing is changed then.
    """
    scope = _check_scope(scope)
    errors: list[tuple[str | None, object]] = []
    host = resolve_host(scope, (host_code or "").strip())
    if host is None:
        errors.append(("host", _l("Choose a host from the list: this one is not a host of this rotation.")))
    first, last = this_year() + 1, this_year() + MAX_EXCLUSION_YEARS
    number = parse_year(until_year)
    if number is None or not first <= number <= last:
        errors.append(("until_year", _l("Enter a year from %(first)s to %(last)s.", first=first, last=last)))
    text = _clean_reason(reason, errors, _l("Say why this host is excluded: the reason is kept in the audit log."))
    if not errors:
        current = next((e for e in exclusions_of(scope) if e.host_code == host.code), None)
        pinned = next((p for p in pins_of(scope) if p.host_code == host.code and p.year < number), None)
        if current is not None:
            errors.append(("host", _l("%(host)s is already excluded until %(year)s. Lift that exclusion first.",
                                      host=host.name(), year=current.until_year)))
        elif pinned is not None:
            errors.append(("host", _l("%(host)s is pinned to host in %(year)s. Remove that pin first.",
                                      host=host.name(), year=pinned.year)))
    if errors:
        raise ValidationFailed(errors)
    exclusion = RotationExclusion(scope=scope, host_code=host.code, until_year=number, reason=text,
                                  created_by_id=actor.id if actor is not None else None)
    db.session.add(exclusion)
    db.session.flush()
    record(actor, "rotation.exclusion_added", exclusion, {"scope": scope, "host": host.code, "until_year": number},
           reason=text)
    return exclusion


def lift_exclusion(actor, exclusion: RotationExclusion, reason: str | None) -> None:
    """Lift an active exclusion early, saying why (audit-logged; the row is kept for the record).

    :raise ValidationFailed: already lifted, or an empty reason.
    """
    errors: list = []
    if exclusion.lifted_at is not None:
        errors.append((None, _l("This exclusion has already been lifted.")))
    text = _clean_reason(reason, errors, _l("Say why the exclusion is lifted: the reason is kept in the audit log."))
    if errors:
        raise ValidationFailed(errors)
    exclusion.lifted_at = utcnow()
    db.session.flush()
    record(actor, "rotation.exclusion_lifted", exclusion, {"scope": exclusion.scope, "host": exclusion.host_code,
                                                           "until_year": exclusion.until_year}, reason=text)
