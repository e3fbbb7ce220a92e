"""``GET /api/v1/openapi.json`` (CONTRACTS.md §2) is kept true.

1. It is a valid OpenAPI 3.1 document (openapi-spec-validator), and it documents exactly the ``/api/v1`` rules and
   methods of ``app.url_map``, with the path parameters their converters take.
2. A property-based run against a live server (werkzeug's ``make_server`` in a thread, on a seeded database:
   SQLite and PostgreSQL) does what Schemathesis would (it is not on this machine's mirror): for every operation
   Hypothesis draws requests from the document's parameter schemas (hypothesis-jsonschema), valid and invalid ones,
   and every answer must be JSON, have a documented status (never a 5xx) and validate against that status's schema
   (jsonschema, formats checked). Valid requests must be accepted (2xx, or a documented 404 for an unknown id) and
   invalid ones refused with the documented 4xx. Derandomised, with a bounded number of examples.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote
from urllib.parse import urlencode

import jsonschema
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from werkzeug.serving import make_server

from app.openapi import openapi_document

STRING_SCHEMA = {"type": "string"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
CONVERTER_SCHEMA_TYPES = {None: "string", "default": "string", "string": "string", "int": "integer"}
RULE_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
EXAMPLES = 50  # per operation with parameters; derandomised, so every run draws the same requests
INTEGER = re.compile(r"[+-]?[0-9]+")  # the API's integers: ASCII digits, an optional sign, spaces around ignored


def documented_operations(document: dict) -> set[tuple[str, str]]:
    """(path template, METHOD) of every operation of ``document``."""
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item
            if method in HTTP_METHODS}


def api_rules(app) -> dict[tuple[str, str], dict[str, str]]:
    """{(path template, METHOD): {path parameter: converter}} of every ``/api/v1`` rule (HEAD and OPTIONS are
    Flask's own, answered for every GET rule, and not operations of their own)."""
    rules = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        template = RULE_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        converters = {m.group(2): m.group(1) or "default" for m in RULE_PARAM.finditer(rule.rule)}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            rules[(template, method)] = converters
    return rules


def differences(app, document: dict) -> list[str]:
    """What the document and the URL map disagree on (empty: they agree)."""
    rules = api_rules(app)
    documented = documented_operations(document)
    problems = [f"undocumented: {m} {p}" for p, m in sorted(set(rules) - documented)]
    problems += [f"documented but no such rule: {m} {p}" for p, m in sorted(documented - set(rules))]
    for (path, method), converters in sorted(rules.items()):
        if (path, method) not in documented:
            continue
        params = {p["name"]: p for p in document["paths"][path][method.lower()].get("parameters", [])
                  if p["in"] == "path"}
        if set(params) != set(converters):
            problems.append(f"{method} {path}: path parameters {sorted(params)} but the rule has {sorted(converters)}")
            continue
        for name, converter in converters.items():
            wanted = CONVERTER_SCHEMA_TYPES.get(converter, "string")
            if params[name]["schema"].get("type") != wanted or not params[name].get("required"):
                problems.append(f"{method} {path}: {name} must be a required {wanted} (converter {converter})")
    return problems


# --- the document itself ---------------------------------------------------------------------------------------


def test_document_is_served_as_json_and_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document == json.loads(json.dumps(openapi_document()))


def test_an_invalid_document_is_refused_by_the_validator():
    broken = json.loads(json.dumps(openapi_document()))
    broken["paths"]["/api/v1/regions"]["get"]["parameters"] = [{"name": "lang", "schema": STRING_SCHEMA}]  # no "in"
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_document_matches_the_url_map(app):
    assert differences(app, openapi_document()) == []
    assert ("/api/v1/meetings/{meeting_id}", "GET") in documented_operations(openapi_document())


def test_a_new_api_rule_or_a_stale_operation_is_reported(app):
    document = json.loads(json.dumps(openapi_document()))
    app.add_url_rule("/api/v1/extra/<int:n>", "extra", lambda n: "")
    document["paths"]["/api/v1/gone"] = {"get": {"responses": {"200": {"description": "gone"}}}}
    document["paths"]["/api/v1/meetings/{meeting_id}"]["get"]["parameters"][0]["schema"] = {"type": "string"}
    assert differences(app, document) == [
        "undocumented: GET /api/v1/extra/{n}",
        "documented but no such rule: GET /api/v1/gone",
        "GET /api/v1/meetings/{meeting_id}: meeting_id must be a required integer (converter int)",
    ]


def test_every_error_response_uses_the_error_shape():
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "200" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if status.startswith(("4", "5")):
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_every_example_matches_its_schema():
    document = openapi_document()
    count = 0
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                media = response["content"]["application/json"]
                if "example" in media:
                    response_validator(document, media["schema"]).validate(media["example"])
                    count += 1
    assert count


def test_api_page_links_the_document_in_every_language(client):
    for lang, heading in (("en", "API for developers"), ("ru", "API для разработчиков"),
                          ("kk", "Әзірлеушілерге арналған API")):
        page = client.get("/api", headers={"Accept-Language": lang})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f"<h1>{heading}</h1>" in html and 'href="/api/v1/openapi.json"' in html, lang
        about = client.get("/about", headers={"Accept-Language": lang}).get_data(as_text=True)
        assert 'href="/api"' in about, lang


# --- the live run ----------------------------------------------------------------------------------------------


@pytest.fixture
def seeded(app, make_case, make_meeting, in_db):
    """Published, withdrawn and draft case studies; meetings of several states (one with an agenda presenting
    a case study). Returns the ids a valid request may name."""
    from app.case_studies.models import Adoption
    from app.meetings.models import AgendaItem
    from app.regions.services import find_akimat

    published = [
        make_case("published", title="Electronic bus card Onay"),
        make_case("published", akimat=("KZ-63", None), region="KZ-63", title="Открытый бюджет области",
                  language="ru", topics=["budgeting"], level="oblast", started=2019, budget_kzt=Decimal("1250000.50")),
        make_case("published", akimat=("KZ-39", None), region="KZ-39", title="Ауыл шаруашылығына цифрлық көмек",
                  language="kk", topics=["agriculture", "digital-services"], level="oblast", started=2021, ended=2023,
                  status="pilot"),
    ]
    hidden = [make_case("withdrawn", title="Withdrawn parking reform"), make_case("draft", title="A draft")]
    meetings = [
        make_meeting("registration_open"),
        make_meeting("held", host="KZ-63"),
        make_meeting("cancelled", host="KZ-39", state_reason="Floods", format="hybrid",
                     online_url="https://example.kz/live"),
        make_meeting("planned", scope="KZ-75", host="Alatau District", city="", venue="", address=""),
    ]
    with in_db() as session:
        from app.case_studies import services

        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=60)
        session.add(AgendaItem(meeting_id=meetings[0], kind="presentation", title="", starts_at=start,
                               ends_at=start + timedelta(hours=1), case_study_id=services.get_by_slug(published[0]).id,
                               presenter_name="Dana Seitova"))
        session.add(Adoption(case_study_id=services.get_by_slug(published[0]).id,
                             akimat_id=find_akimat("KZ-63", None).id, year=2020, note="Took over the card readers"))
        session.add(AgendaItem(meeting_id=meetings[0], kind="break", title="Coffee", starts_at=start,
                               ends_at=start + timedelta(minutes=20),
                               case_study_id=services.get_by_slug(hidden[0]).id))
        session.commit()
    return {"case_id": published, "meeting_id": meetings, "hidden_case_id": hidden}


@pytest.fixture
def live_server(app, seeded):
    """The app behind a real HTTP server on a free port (threads, as gunicorn's workers would answer)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Request threads are joined at close: one still tearing down its app context after the client had its
    # answer would give its database connection back after the engine was disposed (a ResourceWarning later).
    server.daemon_threads, server.block_on_close = False, True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def get(address: str, path: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of ``GET path``."""
    connection = http.client.HTTPConnection(address, timeout=60)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _wire(value) -> str:
    return str(value)


def valid_values(schema: dict) -> st.SearchStrategy[str]:
    """Values the schema allows, as they travel in a URL. Empty and blank strings are left out: the endpoints
    read them as "absent" or as invalid, and the document promises neither."""
    return from_schema(schema).map(_wire).filter(lambda s: s.strip() != "" and _encodable(s))


def _is_valid_integer(schema: dict, text: str) -> bool:
    text = text.strip()
    if not INTEGER.fullmatch(text):
        return False
    value = int(text)
    return (("minimum" not in schema or value >= schema["minimum"])
            and ("maximum" not in schema or value <= schema["maximum"])
            and ("enum" not in schema or value in schema["enum"]))


def invalid_values(schema: dict) -> st.SearchStrategy[str] | None:
    """Values the schema does not allow (None: it allows any string), as they travel in a URL. Values the
    endpoints read leniently (spaces around, a blank one) are not drawn."""
    text = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "" and _encodable(s))
    if schema.get("type") == "integer":
        strategies = [text.filter(lambda s: not _is_valid_integer(schema, s))]
        if "minimum" in schema:
            strategies.append(st.integers(max_value=schema["minimum"] - 1).map(str))
        if "maximum" in schema:
            strategies.append(st.integers(min_value=schema["maximum"] + 1).map(str))
        if "enum" in schema:
            strategies.append(st.integers().filter(lambda n: n not in schema["enum"]).map(str))
        return st.one_of(strategies)
    if "enum" in schema:
        return text.filter(lambda s: s.strip() not in schema["enum"])
    if "pattern" in schema:  # random text, or text with a NUL (which no pattern of the document allows)
        return st.one_of(text, text.map(lambda s: s + "\x00")).filter(lambda s: not re.search(schema["pattern"], s))
    return None


@st.composite
def requests(draw, path: str, operation: dict, known: dict[str, list]):
    """(URL, has a NUL, valid, path valid, names an existing object) for ``operation``: half the requests valid
    (every parameter absent or allowed by its schema), half with one parameter outside its schema (as
    Schemathesis's negative mode does, so the refusal is that parameter's)."""
    params = operation.get("parameters", [])
    schemas = {p["name"]: p["schema"]["items"] if p["schema"].get("type") == "array" else p["schema"]
               for p in params}
    breakable = [p["name"] for p in params
                 if not p.get("deprecated") and invalid_values(schemas[p["name"]]) is not None]
    broken = draw(st.one_of(st.none(), st.sampled_from(breakable))) if breakable else None
    url, query, drawn = path, [], []
    existing = True
    for param in params:
        name, schema = param["name"], schemas[param["name"]]
        if param["in"] == "path":
            if name == broken:
                value = draw(invalid_values(schema))
            elif draw(st.booleans()):
                value = str(draw(st.sampled_from(known[name])))
            else:
                value = draw(valid_values(schema))
                existing = value in {str(v) for v in known[name]}
            drawn.append(value)
            url = url.replace("{" + name + "}", quote(value, safe=""))
            continue
        if name != broken and draw(st.booleans()):
            continue  # absent
        count = draw(st.integers(1, 3)) if param["schema"].get("type") == "array" else 1
        values = [draw(valid_values(schema)) for _ in range(count)]
        if name == broken:
            values[draw(st.integers(0, count - 1))] = draw(invalid_values(schema))
        query += [(name, value) for value in values]
    if query:
        url += "?" + urlencode(query)
    path_broken = broken is not None and any(p["name"] == broken and p["in"] == "path" for p in params)
    nul = any("\x00" in value for value in drawn + [v for _, v in query])
    return url, nul, broken is None or path_broken, not path_broken, existing


def response_validator(document: dict, schema: dict) -> jsonschema.Draft202012Validator:
    """A JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1) for ``schema``, whose ``#/components/...``
    references resolve in ``document``."""
    root = {**schema, "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_answer(document, path, operation, url, status, content_type, body) -> None:
    """The answer is JSON, its status is documented (never a 500) and it validates against the status's schema,
    with a documented error code."""
    # No server error; a 5xx only where the document promises one (503: the search index is unavailable).
    assert status < 500 or (status != 500 and str(status) in operation["responses"]), \
        f"{status} for GET {url}: {body[:500]!r}"
    assert content_type.split(";")[0].strip() == "application/json", f"{content_type} for GET {url}"
    documented = operation["responses"].get(str(status)) or operation["responses"].get("default")
    assert documented, f"GET {url} answered {status}, which {path} does not document: {body[:300]!r}"
    schema = documented["content"]["application/json"]["schema"]
    errors = sorted(response_validator(document, schema).iter_errors(json.loads(body)), key=str)
    assert not errors, f"GET {url} ({status}) does not match its schema: {errors[0].message} at " \
                       f"{list(errors[0].absolute_path)}"
    if "x-error-codes" in documented:
        code = json.loads(body)["error"]["code"]
        assert code in documented["x-error-codes"], f"GET {url} ({status}): error code {code!r} is not documented"


def fuzz_operation(address: str, document: dict, path: str, known: dict[str, list]) -> set[int]:
    """Hypothesis's run over one operation; returns the statuses seen."""
    operation = document["paths"][path]["get"]
    statuses: set[int] = set()

    @settings(max_examples=EXAMPLES if operation.get("parameters") else 3, derandomize=True, database=None,
              deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(requests(path, operation, known))
    def run(drawn):
        url, nul, valid, path_valid, existing = drawn
        status, content_type, body = get(address, url)
        check_answer(document, path, operation, url, status, content_type, body)
        statuses.add(status)
        if nul:  # refused before routing's outcome matters (app.security), whatever the parameter
            assert status == 400, f"GET {url}: {status} for a NUL character"
        elif not path_valid:
            assert status == 404, f"GET {url}: {status} for an invalid path parameter"
        elif not valid:
            assert status == 400, f"GET {url}: {status} for an invalid parameter: {body[:300]!r}"
        elif existing:
            assert status == 200, f"GET {url}: {status} for a valid request: {body[:300]!r}"
        else:
            assert status in (200, 404), f"GET {url}: {status}"

    run()
    return statuses


def test_live_server_answers_every_operation_as_documented(live_server, seeded):
    status, _, body = get(live_server, "/api/v1/openapi.json")
    assert status == 200
    document = json.loads(body)
    for path, item in document["paths"].items():
        statuses = fuzz_operation(live_server, document, path, seeded)
        # The run was not vacuous: every operation answered, and those with parameters refused some requests.
        assert 200 in statuses, path
        if item["get"].get("parameters"):
            assert statuses & {400, 404}, path


def test_a_nul_anywhere_is_the_documented_400(live_server, seeded):
    document = openapi_document()
    for path, item in document["paths"].items():
        url = path.replace("{case_id}", seeded["case_id"][0]).replace("{meeting_id}", str(seeded["meeting_id"][0]))
        urls = [url + "?anything=a%00b"]
        if "{" in path:  # in the path parameter itself
            urls.append(re.sub(r"\{\w+\}", "1%002", path))
        for nul_url in urls:
            status, content_type, body = get(live_server, nul_url)
            assert status == 400, nul_url
            check_answer(document, path, item["get"], nul_url, status, content_type, body)


def test_a_missing_search_index_is_the_documented_503(app, live_server, seeded):
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    document = openapi_document()
    url = "/api/v1/search?q=onay"
    status, content_type, body = get(live_server, url)
    assert status == 503
    check_answer(document, "/api/v1/search", document["paths"]["/api/v1/search"]["get"], url, status, content_type,
                 body)


def test_hidden_case_studies_answer_the_documented_404(live_server, seeded):
    document = openapi_document()
    path = "/api/v1/cases/{case_id}"
    for case_id in seeded["hidden_case_id"]:
        url = f"/api/v1/cases/{case_id}"
        status, content_type, body = get(live_server, url)
        assert status == 404
        check_answer(document, path, document["paths"][path]["get"], url, status, content_type, body)


def test_a_response_off_its_schema_fails_the_check():
    document = openapi_document()
    operation = document["paths"]["/api/v1/regions"]["get"]
    good = [{"iso_code": "KZ-75", "kind": "city", "name_en": "Almaty", "name_ru": "Алматы", "name_kk": "Алматы"}]
    check_answer(document, "/api/v1/regions", operation, "/api/v1/regions", 200, "application/json",
                 json.dumps(good).encode())
    for bad in ([{**good[0], "kind": "village"}], [{**good[0], "extra": 1}], {"error": "x"}):
        with pytest.raises(AssertionError, match="does not match its schema"):
            check_answer(document, "/api/v1/regions", operation, "/api/v1/regions", 200, "application/json",
                         json.dumps(bad).encode())
    with pytest.raises(AssertionError, match="does not document"):
        check_answer(document, "/api/v1/regions", operation, "/api/v1/regions", 404, "application/json",
                     b'{"error": {"code": "not_found", "message": "x"}}')
    errors = document["paths"]["/api/v1/cases/{case_id}"]["get"]
    with pytest.raises(AssertionError, match="error code 'bad_scope' is not documented"):
        check_answer(document, "/api/v1/cases/{case_id}", errors, "/api/v1/cases/x", 404, "application/json",
                     b'{"error": {"code": "bad_scope", "message": "x"}}')
    with pytest.raises(AssertionError, match="500"):
        check_answer(document, "/api/v1/regions", operation, "/api/v1/regions", 500, "application/json", b"{}")

