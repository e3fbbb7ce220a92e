"""JSON API v1, meetings (CONTRACTS.md §2): ``GET /api/v1/meetings`` and ``GET /api/v1/meetings/<id>``.

Meetings are public (they have no drafts). Times are ISO 8601 in Kazakhstan time with their offset
(``2027-09-12T10:00:00+05:00``); bad filters answer 400 with a JSON error, never a page.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import request
from flask import url_for

from app.api import BAD_PARAMETER
from app.api import BAD_SCOPE
from app.api import BAD_STATE
from app.api import json_error
from app.api import json_response
from app.extensions import db
from app.inputs import parse_int
from app.meetings import hosts
from app.meetings import services
from app.meetings.models import MEETING_STATES
from app.meetings.models import Meeting
from app.meetings.timezone import to_local

bp = Blueprint("meetings_api", __name__, url_prefix="/api/v1")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_ID = 2**31 - 1  # ids are 32-bit integers (PostgreSQL); a larger one exists nowhere, and would overflow the query


def iso_local(moment) -> str | None:
    """ISO 8601 in Kazakhstan time with the offset."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else None


def bad_request(code: str, message: str):
    """A 400 JSON error."""
    return json_error(400, code, message)


def agenda_payload(meeting: Meeting) -> list[dict]:
    """The agenda items, in timetable order, with the ids (slugs) of presented case studies."""
    items = []
    for item in meeting.agenda_items:
        case = item.case_study
        items.append({
            "kind": item.kind,
            "title": item.title or (case.title if case else ""),
            "starts_at": iso_local(item.starts_at),
            "ends_at": iso_local(item.ends_at),
            "presenter": item.presenter_name or None,
            "location": item.location or None,
            # Only published case studies exist in the API (a withdrawn one must not leak its id).
            "case_study_id": case.slug if case is not None and case.is_published else None,
        })
    return items


def meeting_payload(meeting: Meeting, *, full: bool = False) -> dict:
    """A meeting as the API shows it (``full`` adds the agenda, description and contact)."""
    host = meeting.host
    payload = {
        "id": meeting.id,
        "uid": meeting.uid,
        "title": meeting.title,
        "scope": meeting.scope,
        "year": meeting.year,
        "slot": meeting.slot,
        "edition": meeting.edition,
        "host": {"code": hosts.host_code_of(meeting), "name_en": host.name_en, "name_ru": host.name_ru,
                 "name_kk": host.name_kk},
        "host_region": meeting.host_region.iso_code,
        "city": meeting.city or None,
        "venue": meeting.venue or None,
        "address": meeting.address or None,
        "format": meeting.format,
        "online_url": meeting.online_url,
        "starts_at": iso_local(meeting.starts_at),
        "ends_at": iso_local(meeting.ends_at),
        "timezone": "Asia/Almaty",
        "registration_opens_at": iso_local(meeting.registration_opens_at),
        "registration_closes_at": iso_local(meeting.registration_closes_at),
        "status": meeting.state,
        "status_reason": meeting.state_reason if meeting.state in ("cancelled", "postponed") else None,
        "registration": {k: v for k, v in services.counts(meeting).items() if k != "seats_left"}
        | {"open": services.can_register_now(meeting)},
        "sequence": meeting.sequence,
        "url": url_for("meetings.detail", meeting_id=meeting.id),
        "ics_url": url_for("meetings.meeting_ics", meeting_id=meeting.id),
    }
    if full:
        payload["description"] = meeting.description
        payload["contact"] = {"name": meeting.contact_name or None, "email": meeting.contact_email or None,
                              "phone": meeting.contact_phone or None}
        payload["agenda"] = agenda_payload(meeting)
    else:
        payload["agenda_case_study_ids"] = [item["case_study_id"] for item in agenda_payload(meeting)
                                            if item["case_study_id"]]
    return payload


def _int_arg(name: str, default: int | None = None) -> int | None:
    """An integer query parameter; :raise ValueError: when it is given and not a positive integer."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    value = parse_int(raw)
    if value is None or value < 1:
        raise ValueError(name)
    return value


@bp.route("/meetings")
def list_meetings():
    """``GET /api/v1/meetings?scope=national&year=2027&state=registration_open&page=1&per_page=20``."""
    scope = request.args.get("scope") or None
    state = request.args.get("state") or request.args.get("status") or None
    if scope is not None and not hosts.is_valid_scope(scope):
        return bad_request(BAD_SCOPE, "scope must be 'national' or a region's ISO code such as KZ-61")
    if state is not None and state not in MEETING_STATES:
        return bad_request(BAD_STATE, f"state must be one of: {', '.join(MEETING_STATES)}")
    try:
        year = _int_arg("year")
        page = _int_arg("page", 1)
        per_page = _int_arg("per_page", DEFAULT_PER_PAGE)
    except ValueError as error:
        return bad_request(BAD_PARAMETER, f"{error.args[0]} must be a positive whole number")
    if page > MAX_PAGE:  # a huge offset would overflow the database's integer
        return bad_request(BAD_PARAMETER, f"page must be at most {MAX_PAGE}")
    if per_page > MAX_PER_PAGE:
        return bad_request(BAD_PARAMETER, f"per_page must be at most {MAX_PER_PAGE}")
    if year is not None and not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        return bad_request(BAD_PARAMETER, f"year must be between {services.FIRST_YEAR} and {services.LAST_YEAR}")
    result = db.paginate(services.meetings_query(scope, year, state), page=page, per_page=per_page,
                         error_out=False, count=True)
    return json_response({
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "results": [meeting_payload(meeting) for meeting in result.items],
    })


@bp.route("/meetings/<int:meeting_id>")
def get_meeting(meeting_id: int):
    """``GET /api/v1/meetings/<id>``: one meeting with its agenda and registration counts."""
    meeting = db.session.get(Meeting, meeting_id) if meeting_id <= MAX_ID else None
    if meeting is None:
        abort(404)
    return json_response(meeting_payload(meeting, full=True))
