"""The OpenAPI 3.1 document of the JSON API v1 (CONTRACTS.md §2), served at ``GET /api/v1/openapi.json``.

The document is data built here in Python, once per process: the vocabularies (topics, levels, statuses,
meeting states, region codes) come from the same constants the endpoints check against, so the two cannot
drift apart. What the constants do not carry (shapes, bounds, status codes) is written out by hand from the
endpoints' code and kept true by ``tests/functional/test_openapi.py``: every ``/api/v1`` rule of the URL map is
documented and nothing else is, and a property-based run against a live server checks every answer against the
schema of its status.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint

from app.api import BAD_PARAMETER
from app.api import BAD_REQUEST
from app.api import BAD_SCOPE
from app.api import BAD_STATE
from app.api import SEARCH_UNAVAILABLE
from app.api import STATUS_CODES
from app.api import json_response
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import FIRST_YEAR as CASE_FIRST_YEAR
from app.case_studies.constants import LEVELS
from app.case_studies.constants import MAX_EVIDENCE_URL_CHARS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.meetings import services as meeting_services
from app.meetings.api import MAX_PAGE as MEETINGS_MAX_PAGE
from app.meetings.api import MAX_PER_PAGE as MEETINGS_MAX_PER_PAGE
from app.meetings.models import AGENDA_KINDS
from app.meetings.models import MEETING_FORMATS
from app.meetings.models import MEETING_STATES
from app.meetings.models import NATIONAL
from app.meetings.rotation import engine as rotation_engine
from app.meetings.rotation import services as rotation_services
from app.meetings.rotation.api import FIRST_YEAR as PLAN_FIRST_YEAR
from app.meetings.rotation.api import LAST_YEAR as PLAN_LAST_YEAR
from app.regions.services import read_regions
from app.search.parsing import DEFAULT_PER_PAGE as SEARCH_DEFAULT_PER_PAGE
from app.search.parsing import MAX_PER_PAGE as SEARCH_MAX_PER_PAGE
from app.search.parsing import SORTS

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

VERSION = "1.0.0"
REF = "#/components/schemas/"


@bp.route("/openapi.json")
def document():
    """``GET /api/v1/openapi.json``: the OpenAPI 3.1 document of this API."""
    return json_response(openapi_document())


# --- building blocks -------------------------------------------------------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _nullable(schema: dict) -> dict:
    """``schema`` or null (OpenAPI 3.1 writes it as a JSON Schema type list)."""
    if "type" in schema:
        kind = schema["type"]
        return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict, description: str | None = None) -> dict:
    """A closed object: every property is always present (null where empty), and there are no others."""
    schema = {"type": "object", "required": list(properties), "properties": properties,
              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DATETIME_LOCAL = {"type": "string", "format": "date-time",
                  "description": "ISO 8601 in Kazakhstan time with its offset, e.g. 2027-09-12T10:00:00+05:00."}
DATETIME_UTC = {"type": "string", "format": "date-time", "description": "ISO 8601 in UTC, e.g. 2026-05-01T12:30:15Z."}


def _region_codes() -> list[str]:
    return sorted(row["iso_code"] for row in read_regions())


def _query(name: str, schema: dict, description: str, **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **extra}


def _error_response(description: str, codes: list[str]) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error"),
                                             "example": {"error": {"code": codes[0], "message": "…"}}}},
            "x-error-codes": codes}


NUL_REFUSED = "The request contains a NUL character (in any parameter, or the path), which is never valid."


def _bad_request(description: str | None = None, codes: tuple[str, ...] = (BAD_REQUEST,)) -> dict:
    """The 400 every operation may answer: a NUL character anywhere in the request (app.security), and, where
    ``description`` says so, a parameter outside its schema."""
    text = f"{description} Or: {NUL_REFUSED[0].lower()}{NUL_REFUSED[1:]}" if description else NUL_REFUSED
    return _error_response(text, list(dict.fromkeys((*codes, BAD_REQUEST))))


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# --- schemas ---------------------------------------------------------------------------------------------------

EVIDENCE_DESCRIPTION = ("Nesta's Standards of Evidence (null: not assessed): 1 a plausible account of why it works, "
                        "2 data showing change, 3 a comparison showing it caused the change, 4 an independent "
                        "replication or evaluation, 5 scaled, with repeated evaluations. Levels 3 to 5 come with an "
                        "attached evaluation or an evidence_url.")


def _schemas() -> dict:
    regions = _region_codes()
    region = {"type": "string", "enum": regions, "description": "ISO 3166-2 code of a first-level unit."}
    topic = {"type": "string", "enum": list(TOPICS)}
    year = {"type": "integer"}
    evidence = {"type": ["integer", "null"], "enum": [*EVIDENCE_LEVELS, None], "description": EVIDENCE_DESCRIPTION}
    return {
        "Error": _object({
            "error": _object({
                "code": {"type": "string", "minLength": 1,
                         "description": "Machine-readable: the status's name (" + ", ".join(
                             f"{status} {code}" for status, code in sorted(STATUS_CODES.items()))
                         + f"), or a finer one for a bad parameter: {BAD_PARAMETER}, {BAD_SCOPE}, {BAD_STATE}, "
                           f"{SEARCH_UNAVAILABLE}."},
                "message": {"type": "string", "minLength": 1, "description": "For people (English)."},
            }),
        }, "Every error of the API (HTTP 4xx, or 503 when the search index is unavailable)."),
        "Region": _object({
            "iso_code": region,
            "kind": {"type": "string", "enum": ["oblast", "city"]},
            "name_en": STRING, "name_ru": STRING, "name_kk": STRING,
        }),
        "Adoption": _object({"region": region, "year": year, "note": _nullable(STRING)},
                            "A region that took the practice over (its earliest adoption)."),
        "CaseStudy": _object({
            "id": {"type": "string", "pattern": "^[a-z0-9-]{3,120}$"},
            "title": {"type": "string", "minLength": 1, "maxLength": 300},
            "summary": _nullable(STRING),
            "region": region,
            "district": _nullable({"type": "string", "description": "English name of a district or city."}),
            "level": {"type": "string", "enum": list(LEVELS)},
            "author_name": _nullable(STRING),
            "author_position": _nullable(STRING),
            "topics": {"type": "array", "items": topic, "minItems": 1, "uniqueItems": True},
            "language": {"type": "string", "enum": list(CASE_LANGUAGES)},
            "started": {"type": "integer", "minimum": CASE_FIRST_YEAR},
            "ended": _nullable({"type": "integer", "minimum": CASE_FIRST_YEAR}),
            "status": {"type": "string", "enum": list(STATUSES)},
            "problem": _nullable({"type": "string", "description": "Markdown."}),
            "solution": _nullable({"type": "string", "description": "Markdown."}),
            "challenges": _nullable({"type": "string", "description": "Markdown."}),
            "results": _nullable({"type": "string", "description": "Markdown."}),
            "lessons": _nullable({"type": "string", "description": "Markdown."}),
            "budget_kzt": _nullable({"type": "number", "minimum": 0}),
            "adoptions": {"type": "array", "items": _ref("Adoption")},
            "evidence_level": evidence,
            "evidence_url": _nullable({"type": "string", "maxLength": MAX_EVIDENCE_URL_CHARS,
                                       "description": "An http(s) link to the evaluation of the practice."}),
            "url": {"type": "string", "description": "Path of the case study's page."},
            "published_at": DATETIME_UTC,
            "updated_at": DATETIME_UTC,
            "related": {"type": "array", "maxItems": 5, "items": {"type": "string"},
                        "description": "Ids of up to 5 similar published case studies, most similar first."},
        }, "A published case study in the interchange format (CONTRACTS.md §1) plus url, published_at, "
           "updated_at and related."),
        "SearchResult": _object({
            "id": STRING, "title": STRING, "summary": _nullable(STRING), "region": _nullable(region),
            "year": {"type": "integer", "description": "The year the practice started."},
            "evidence_level": evidence,
            "score": {"type": "number"},
            "highlights": _object({"title": {"type": "string", "description": "HTML, matches in <mark>."},
                                   "body": {"type": "string", "description": "HTML snippet, matches in <mark>."}}),
            "url": STRING,
        }),
        "SearchResponse": _object({
            "query": STRING,
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": SEARCH_MAX_PER_PAGE},
            "results": {"type": "array", "items": _ref("SearchResult"), "maxItems": SEARCH_MAX_PER_PAGE},
            "facets": _object({
                name: {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                       "description": "value → number of matching case studies (the other facets' filters apply)."}
                for name in ("region", "topic", "level", "year", "evidence")
            }),
            "suggestion": _nullable({"type": "string", "description": "Did you mean."}),
        }),
        "Host": _object({"code": {"type": "string", "description": "A region's ISO code (national scope) or a "
                                  "district's or city's English name (regional scope)."},
                         "name_en": STRING, "name_ru": STRING, "name_kk": STRING}),
        "Registration": _object({
            "registered": {"type": "integer", "minimum": 0}, "waitlisted": {"type": "integer", "minimum": 0},
            "capacity": {"type": "integer", "minimum": 0},
            "attended": _nullable({"type": "integer", "minimum": 0,
                                   "description": "Null until the organiser has marked attendance."}),
            "open": {"type": "boolean", "description": "Registration is open now."},
        }),
        "AgendaItem": _object({
            "kind": {"type": "string", "enum": list(AGENDA_KINDS)},
            "title": STRING, "starts_at": DATETIME_LOCAL, "ends_at": DATETIME_LOCAL,
            "presenter": _nullable(STRING), "location": _nullable(STRING),
            "case_study_id": _nullable({"type": "string", "description": "A published case study presented."}),
        }),
        "Contact": _object({"name": _nullable(STRING), "email": _nullable(STRING), "phone": _nullable(STRING)}),
        **_meeting_schemas(),
        "RotationSlot": _object({
            "year": year, "slot": {"type": "integer", "enum": list(rotation_services.PER_YEAR_CHOICES)},
            "host": _nullable({"type": "string", "description": "Host code; null when nobody can host."}),
            "reason": {"type": "string", "enum": [
                rotation_engine.REASON_NEVER_HOSTED, rotation_engine.REASON_LONGEST, rotation_engine.REASON_PINNED,
                rotation_engine.REASON_HELD, rotation_engine.REASON_NO_HOST]},
        }),
        "RotationPlan": _object({
            "scope": STRING,
            "plan": {"type": "array", "items": _ref("RotationSlot"),
                     "description": "One entry per (year, slot), in order."},
        }),
    }


def _meeting_schemas() -> dict:
    """``MeetingSummary`` (in lists) and ``Meeting`` (one meeting: with description, contact and agenda)."""
    common = {
        "id": {"type": "integer", "minimum": 1},
        "uid": {"type": "string", "description": "Stable iCalendar UID."},
        "title": STRING,
        "scope": {"type": "string", "description": f"{NATIONAL!r} or a region's ISO code."},
        "year": INTEGER,
        "slot": {"type": "integer", "enum": list(rotation_services.PER_YEAR_CHOICES)},
        "edition": _nullable(INTEGER),
        "host": _ref("Host"),
        "host_region": {"type": "string", "enum": _region_codes()},
        "city": _nullable(STRING), "venue": _nullable(STRING), "address": _nullable(STRING),
        "format": {"type": "string", "enum": list(MEETING_FORMATS)},
        "online_url": _nullable(STRING),
        "starts_at": DATETIME_LOCAL, "ends_at": DATETIME_LOCAL,
        "timezone": {"type": "string", "const": "Asia/Almaty"},
        "registration_opens_at": _nullable(DATETIME_LOCAL), "registration_closes_at": _nullable(DATETIME_LOCAL),
        "status": {"type": "string", "enum": [str(s) for s in MEETING_STATES]},
        "status_reason": _nullable({"type": "string", "description": "Why cancelled or postponed."}),
        "registration": _ref("Registration"),
        "sequence": {"type": "integer", "minimum": 0, "description": "iCalendar SEQUENCE."},
        "url": STRING,
        "ics_url": STRING,
    }
    return {
        "MeetingSummary": _object({**common, "agenda_case_study_ids": {"type": "array", "items": STRING}}),
        "Meeting": _object({**common, "description": {"type": "string", "description": "Markdown."},
                            "contact": _ref("Contact"),
                            "agenda": {"type": "array", "items": _ref("AgendaItem"),
                                       "description": "In timetable order."}}),
        "MeetingList": _object({
            "total": {"type": "integer", "minimum": 0}, "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MEETINGS_MAX_PER_PAGE},
            "results": {"type": "array", "items": _ref("MeetingSummary")},
        }),
    }


# --- operations ------------------------------------------------------------------------------------------------


def _search_operation() -> dict:
    regions = _region_codes()

    def many(name: str, values: list[str], description: str) -> dict:
        return _query(name, {"type": "array", "items": {"type": "string", "enum": values}}, description,
                      style="form", explode=True)

    return {"get": {
        "operationId": "search",
        "summary": "Search published case studies",
        "description": "Full-text search in Kazakh, Russian and English. Every parameter is optional; an empty `q` "
                       "with filters lists the matching case studies. Repeated filter parameters "
                       "(`topic=a&topic=b`) mean OR within a facet; different facets are ANDed. Query syntax: "
                       "words, \"quoted phrases\", -excluded, title:word.",
        "tags": ["case studies"],
        "parameters": [
            _query("q", {"type": "string", "pattern": "^[^\\u0000]*$"}, "The query (may be empty)."),
            many("region", regions, "Region ISO code(s)."),
            many("level", list(LEVELS), "The author's tier(s)."),
            many("topic", list(TOPICS), "Topic slug(s)."),
            many("language", list(CASE_LANGUAGES), "Language(s) of the text."),
            many("status", list(STATUSES), "Status(es) of the practice."),
            _query("evidence", {"type": "array", "items": {"type": "integer", "enum": list(EVIDENCE_LEVELS)}},
                   "Evidence level(s), 1 to 5 (Nesta's Standards of Evidence).", style="form", explode=True),
            _query("year_from", INTEGER, "Started in this year or later."),
            _query("year_to", INTEGER, "Started in this year or earlier."),
            _query("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"}, "Order of the results."),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
            _query("per_page", {"type": "integer", "minimum": 1, "default": SEARCH_DEFAULT_PER_PAGE},
                   f"Results per page; more than {SEARCH_MAX_PER_PAGE} gives {SEARCH_MAX_PER_PAGE}."),
        ],
        "responses": {
            "200": _ok("The page of results with facet counts.", _ref("SearchResponse")),
            "400": _bad_request("A parameter has a value outside its schema."),
            "503": _error_response("The search index is unavailable; try again later.", [SEARCH_UNAVAILABLE]),
        },
    }}


def _meetings_operations() -> dict:
    scope = {"type": "string", "enum": [NATIONAL, *_region_codes()]}
    states = {"type": "string", "enum": [str(s) for s in MEETING_STATES]}
    bad = _bad_request("A parameter has a value outside its schema.", (BAD_PARAMETER, BAD_SCOPE, BAD_STATE))
    return {
        "/api/v1/meetings": {"get": {
            "operationId": "listMeetings",
            "summary": "List exchange meetings",
            "description": "Newest first. Empty parameters count as absent.",
            "tags": ["meetings"],
            "parameters": [
                _query("scope", scope, "'national' or a region's ISO code (the region's own meetings)."),
                _query("year", {"type": "integer", "minimum": meeting_services.FIRST_YEAR,
                                "maximum": meeting_services.LAST_YEAR}, "Rotation year."),
                _query("state", states, "Meeting status."),
                _query("status", states, "Same as `state` (used when `state` is absent).", deprecated=True),
                _query("page", {"type": "integer", "minimum": 1, "maximum": MEETINGS_MAX_PAGE, "default": 1},
                       "Page number."),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": MEETINGS_MAX_PER_PAGE,
                                    "default": 20}, "Meetings per page."),
            ],
            "responses": {"200": _ok("A page of meetings.", _ref("MeetingList")), "400": bad},
        }},
        "/api/v1/meetings/{meeting_id}": {"get": {
            "operationId": "getMeeting",
            "summary": "One meeting with its agenda and registration counts",
            "tags": ["meetings"],
            "parameters": [{"name": "meeting_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 0}, "description": "The meeting's id."}],
            "responses": {
                "200": _ok("The meeting.", _ref("Meeting")),
                "400": _bad_request(),
                "404": _error_response("No meeting has this id.", [STATUS_CODES[404]]),
            },
        }},
    }


def _paths() -> dict:
    scope = {"type": "string", "enum": [NATIONAL, *_region_codes()], "default": NATIONAL}
    return {
        "/api/v1/search": _search_operation(),
        "/api/v1/cases/{case_id}": {"get": {
            "operationId": "getCaseStudy",
            "summary": "One published case study",
            "description": "Drafts and withdrawn case studies answer 404, like ids that were never used.",
            "tags": ["case studies"],
            "parameters": [{"name": "case_id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[a-z0-9-]{3,120}$"},
                            "description": "The case study's id (its slug)."}],
            "responses": {
                "200": _ok("The case study.", _ref("CaseStudy")),
                "400": _bad_request(),
                "404": _error_response("No published case study has this id.", [STATUS_CODES[404]]),
            },
        }},
        "/api/v1/regions": {"get": {
            "operationId": "listRegions",
            "summary": "The 20 first-level units, in ISO-code order",
            "tags": ["regions"],
            "responses": {"200": _ok("Every region.", {"type": "array", "items": _ref("Region")}),
                          "400": _bad_request()},
        }},
        **_meetings_operations(),
        "/api/v1/rotation/plan": {"get": {
            "operationId": "rotationPlan",
            "summary": "The host rotation plan of a scope",
            "description": "Held meetings appear as `held`; the plan takes the recorded history, pins, scheduled "
                           "meetings and exclusions into account (CONTRACTS.md §3). A window in which two meetings "
                           "were held in one year needs `per_year=2` (400 otherwise).",
            "tags": ["meetings"],
            "parameters": [
                _query("scope", scope, "'national' or a region's ISO code (its districts and cities host)."),
                _query("from", {"type": "integer", "minimum": PLAN_FIRST_YEAR, "maximum": PLAN_LAST_YEAR},
                       "First year of the plan (default: this year in Kazakhstan)."),
                _query("years", {"type": "integer", "minimum": 1, "maximum": rotation_services.MAX_YEARS,
                                 "default": rotation_services.PLAN_YEARS}, "Number of years."),
                _query("per_year", {"type": "integer", "enum": list(rotation_services.PER_YEAR_CHOICES),
                                    "default": 1}, "Meetings a year."),
            ],
            "responses": {
                "200": _ok("The plan.", _ref("RotationPlan")),
                "400": _bad_request("A parameter has a value outside its schema, or the window needs per_year=2."),
            },
        }},
        "/api/v1/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["meta"],
            "responses": {"200": _ok("The OpenAPI 3.1 document.", {"type": "object", "required": ["openapi"]}),
                          "400": _bad_request()},
        }},
    }


@cache
def openapi_document() -> dict:
    """The OpenAPI 3.1 document (built once; callers must not change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Akims' Experience Exchange API",
            "version": VERSION,
            "summary": "Read-only JSON API: published case studies, search, regions, meetings, host rotation.",
            "description": "No login is needed. Every answer is JSON (UTF-8). Errors are HTTP 4xx (503 when the "
                           "search index is unavailable) with the body `{\"error\": {\"code\": \"...\", "
                           "\"message\": \"...\"}}`; a path that does not exist answers 404 in the same shape.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "case studies"}, {"name": "regions"}, {"name": "meetings"}, {"name": "meta"}],
        "paths": _paths(),
        "components": {"schemas": _schemas()},
    }
