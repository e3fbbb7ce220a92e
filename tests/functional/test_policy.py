"""Permissions: every endpoint has a rule (deny by default), and a role × endpoint matrix of statuses."""

from __future__ import annotations

import pytest

from app import policy

ROLES = ["anonymous", "reader", "akim", "organiser", "admin"]
LOGIN = "login"  # a redirect to /login?next=...

# (method, url, expected status per role in ROLES order). Written out by hand, not derived from
# policy.RULES, so that a wrong rule fails here.
MATRIX = {
    "main.home": ("GET", "/", [200, 200, 200, 200, 200]),
    "main.about": ("GET", "/about", [200, 200, 200, 200, 200]),
    "main.api": ("GET", "/api", [200, 200, 200, 200, 200]),
    "openapi.document": ("GET", "/api/v1/openapi.json", [200, 200, 200, 200, 200]),
    "main.privacy": ("GET", "/privacy", [200, 200, 200, 200, 200]),
    "main.accessibility": ("GET", "/accessibility", [200, 200, 200, 200, 200]),
    "main.robots": ("GET", "/robots.txt", [200, 200, 200, 200, 200]),
    "main.sitemap": ("GET", "/sitemap.xml", [200, 200, 200, 200, 200]),
    "main.favicon": ("GET", "/favicon.ico", [200, 200, 200, 200, 200]),
    "main.healthz": ("GET", "/healthz", [200, 200, 200, 200, 200]),
    "main.set_language": ("POST", "/language?lang=en", [302, 302, 302, 302, 302]),
    "static": ("GET", "/static/img/logo.svg", [200, 200, 200, 200, 200]),
    "regions.index": ("GET", "/regions/", [200, 200, 200, 200, 200]),
    "regions.profile": ("GET", "/regions/KZ-75", [200, 200, 200, 200, 200]),
    "regions_api.list_regions": ("GET", "/api/v1/regions", [200, 200, 200, 200, 200]),
    "auth.login": ("GET", "/login", [200, 302, 302, 302, 302]),
    "auth.register": ("GET", "/register", [200, 302, 302, 302, 302]),
    "auth.forgot_password": ("GET", "/password/forgot", [200, 200, 200, 200, 200]),
    "auth.reset_password": ("GET", "/password/reset/not-a-token", [302, 302, 302, 302, 302]),
    "auth.logout": ("POST", "/logout", [LOGIN, 302, 302, 302, 302]),
    "auth.profile": ("GET", "/account", [LOGIN, 200, 200, 200, 200]),
    "auth.change_password": ("GET", "/account/password", [LOGIN, 200, 200, 200, 200]),
    "admin.users": ("GET", "/admin/users", [LOGIN, 403, 403, 403, 200]),
    "admin.user_detail": ("GET", "/admin/users/{target}", [LOGIN, 403, 403, 403, 200]),
    "admin.approve": ("POST", "/admin/users/{target}/approve", [LOGIN, 403, 403, 403, 400]),
    "admin.reject": ("POST", "/admin/users/{target}/reject", [LOGIN, 403, 403, 403, 400]),
    "admin.set_active": ("POST", "/admin/users/{target}/active", [LOGIN, 403, 403, 403, 400]),
    "admin.audit": ("GET", "/admin/audit", [LOGIN, 403, 403, 403, 200]),
    "admin.audit_csv": ("GET", "/admin/audit.csv", [LOGIN, 403, 403, 403, 200]),
    "case_studies.index": ("GET", "/cases/", [200, 200, 200, 200, 200]),
    "case_studies.detail": ("GET", "/cases/{case}", [200, 200, 200, 200, 200]),
    "case_studies.new": ("GET", "/cases/new", [LOGIN, 403, 200, 403, 403]),
    "case_studies.mine": ("GET", "/cases/mine", [LOGIN, 403, 200, 403, 403]),
    "case_studies.edit": ("GET", "/cases/{case}/edit", [LOGIN, 403, 200, 403, 403]),
    "case_studies.publish": ("POST", "/cases/{case}/publish", [LOGIN, 403, 302, 403, 403]),
    "case_studies.withdraw": ("POST", "/cases/{case}/withdraw", [LOGIN, 403, 303, 403, 303]),
    "case_studies.restore": ("POST", "/cases/{case}/restore", [LOGIN, 403, 400, 403, 403]),
    "case_studies.history": ("GET", "/cases/{case}/history", [200, 200, 200, 200, 200]),
    "case_studies.diff": ("GET", "/cases/{case}/diff", [302, 302, 302, 302, 302]),
    "cases_api.get_case": ("GET", "/api/v1/cases/{case}", [200, 200, 200, 200, 200]),
    "search.results": ("GET", "/search?q=onay", [200, 200, 200, 200, 200]),
    "search_api.search": ("GET", "/api/v1/search?q=onay", [200, 200, 200, 200, 200]),
    # {saved} and {token}: a saved search of the target user, so nobody in the matrix owns it (not even the admin).
    "saved_searches.save": ("POST", "/search/saved?q=onay", [LOGIN, 303, 303, 303, 303]),
    "saved_searches.rename": ("POST", "/search/saved/{saved}/rename?name=Mine", [LOGIN, 404, 404, 404, 404]),
    "saved_searches.delete": ("POST", "/search/saved/{saved}/delete", [LOGIN, 404, 404, 404, 404]),
    "saved_searches.rotate_token": ("POST", "/search/saved/{saved}/feed-token", [LOGIN, 404, 404, 404, 404]),
    "saved_searches.feed": ("GET", "/search/saved/{token}.atom", [200, 200, 200, 200, 200]),
    "attachments.upload": ("POST", "/cases/no-such-case/attachments", [LOGIN, 403, 404, 403, 404]),
    "attachments.download": ("GET", "/cases/no-such-case/attachments/1", [404, 404, 404, 404, 404]),
    "attachments.delete": ("POST", "/cases/no-such-case/attachments/1/delete", [LOGIN, 403, 404, 403, 404]),
    "engagement.ask": ("POST", "/cases/no-such-case/questions", [LOGIN, 404, 404, 404, 404]),
    "engagement.answer": ("POST", "/cases/no-such-case/questions/1/answers", [LOGIN, 403, 404, 403, 404]),
    "engagement.adopt": ("POST", "/cases/no-such-case/adoptions", [LOGIN, 403, 404, 403, 404]),
    "engagement.delete_adoption": ("POST", "/cases/no-such-case/adoptions/1/delete", [LOGIN, 403, 404, 403, 404]),
    "engagement.follow": ("POST", "/cases/follow", [LOGIN, 303, 303, 303, 303]),
    "engagement.unfollow": ("POST", "/cases/unfollow", [LOGIN, 303, 303, 303, 303]),
    "engagement.following": ("GET", "/cases/following", [LOGIN, 200, 200, 200, 200]),
    "feeds.all_cases": ("GET", "/feeds/cases.atom", [200, 200, 200, 200, 200]),
    "feeds.region_cases": ("GET", "/feeds/regions/KZ-75.atom", [200, 200, 200, 200, 200]),
    "feeds.topic_cases": ("GET", "/feeds/topics/transport.atom", [200, 200, 200, 200, 200]),
    "meetings.index": ("GET", "/meetings", [200, 200, 200, 200, 200]),
    "meetings.detail": ("GET", "/meetings/{meeting}", [200, 200, 200, 200, 200]),
    "meetings.meeting_ics": ("GET", "/meetings/{meeting}.ics", [200, 200, 200, 200, 200]),
    "meetings.feed": ("GET", "/meetings.ics?scope=national", [200, 200, 200, 200, 200]),
    "meetings.new": ("GET", "/meetings/new", [LOGIN, 403, 403, 200, 200]),
    "meetings.edit": ("GET", "/meetings/{meeting}/edit", [LOGIN, 403, 403, 200, 200]),
    "meetings.change_state": ("POST", "/meetings/{meeting}/state", [LOGIN, 403, 403, 303, 303]),
    "meetings.register": ("POST", "/meetings/{meeting}/register", [LOGIN, 303, 303, 303, 303]),
    "meetings.cancel": ("POST", "/meetings/{meeting}/cancel", [LOGIN, 303, 303, 303, 303]),
    "meetings.update_registration": ("POST", "/meetings/{meeting}/registration", [LOGIN, 303, 303, 303, 303]),
    "questions.manage": ("GET", "/meetings/{meeting}/questions", [LOGIN, 403, 403, 200, 200]),
    "questions.add": ("POST", "/meetings/{meeting}/questions", [LOGIN, 403, 403, 400, 400]),
    "questions.edit": ("GET", "/meetings/{meeting}/questions/999/edit", [LOGIN, 403, 403, 404, 404]),
    "questions.delete": ("POST", "/meetings/{meeting}/questions/999/delete", [LOGIN, 403, 403, 404, 404]),
    "questions.move": ("POST", "/meetings/{meeting}/questions/999/move", [LOGIN, 403, 403, 404, 404]),
    "meetings.registrations": ("GET", "/meetings/{meeting}/registrations", [LOGIN, 403, 403, 200, 200]),
    "meetings.registrations_csv": ("GET", "/meetings/{meeting}/registrations.csv", [LOGIN, 403, 403, 200, 200]),
    "meetings.attendance": ("POST", "/meetings/{meeting}/attendance", [LOGIN, 403, 403, 303, 303]),
    "meetings_api.list_meetings": ("GET", "/api/v1/meetings", [200, 200, 200, 200, 200]),
    "meetings_api.get_meeting": ("GET", "/api/v1/meetings/{meeting}", [200, 200, 200, 200, 200]),
    "rotation.plan": ("GET", "/rotation", [200, 200, 200, 200, 200]),
    "rotation.add_pin": ("POST", "/rotation/pins", [LOGIN, 403, 403, 400, 400]),
    "rotation.remove_pin": ("POST", "/rotation/pins/999/delete", [LOGIN, 403, 403, 404, 404]),
    "rotation.add_exclusion": ("POST", "/rotation/exclusions", [LOGIN, 403, 403, 400, 400]),
    "rotation.lift_exclusion": ("POST", "/rotation/exclusions/999/lift", [LOGIN, 403, 403, 404, 404]),
    "rotation_api.plan": ("GET", "/api/v1/rotation/plan", [200, 200, 200, 200, 200]),
    "programme.manage": ("GET", "/meetings/{meeting}/programme", [LOGIN, 403, 403, 200, 200]),
    "programme.open_call": ("POST", "/meetings/{meeting}/call/open", [LOGIN, 403, 403, 303, 303]),
    "programme.close_call": ("POST", "/meetings/{meeting}/call/close", [LOGIN, 403, 403, 303, 303]),
    "programme.propose": ("GET", "/meetings/{meeting}/propose", [LOGIN, 403, 200, 403, 403]),
    "programme.withdraw": ("POST", "/meetings/{meeting}/proposals/999/withdraw", [LOGIN, 403, 404, 403, 404]),
    "programme.decide": ("POST", "/meetings/{meeting}/proposals/999/decision", [LOGIN, 403, 403, 404, 404]),
    "programme.new_item": ("GET", "/meetings/{meeting}/agenda/new", [LOGIN, 403, 403, 200, 200]),
    "programme.edit_item": ("GET", "/meetings/{meeting}/agenda/999/edit", [LOGIN, 403, 403, 404, 404]),
    "programme.delete_item": ("POST", "/meetings/{meeting}/agenda/999/delete", [LOGIN, 403, 403, 404, 404]),
    "programme.print_agenda": ("GET", "/meetings/{meeting}/agenda/print", [200, 200, 200, 200, 200]),
    "programme.outcomes": ("POST", "/meetings/{meeting}/outcomes", [LOGIN, 403, 403, 400, 400]),
    "programme.add_commitment": ("POST", "/meetings/{meeting}/commitments", [LOGIN, 403, 403, 400, 400]),
    "programme.delete_commitment": ("POST", "/meetings/{meeting}/commitments/999/delete",
                                    [LOGIN, 403, 403, 404, 404]),
    "programme.adopt_commitment": ("POST", "/meetings/{meeting}/commitments/999/adoption",
                                   [LOGIN, 403, 404, 404, 404]),
    "commitments.index": ("GET", "/commitments", [200, 200, 200, 200, 200]),
    "commitments.detail": ("GET", "/meetings/{meeting}/commitments/999", [404, 404, 404, 404, 404]),
    "commitments.evidence": ("GET", "/meetings/{meeting}/commitments/999/updates/1/evidence",
                             [404, 404, 404, 404, 404]),
    "commitments.post_update": ("POST", "/meetings/{meeting}/commitments/999/updates",
                                [LOGIN, 403, 404, 404, 404]),
    # {meeting} is not held and nobody in the matrix registered for it: no certificate for anyone.
    "certificates.download": ("GET", "/meetings/{meeting}/certificate.pdf", [LOGIN, 404, 404, 404, 404]),
    "certificates.verify": ("GET", "/certificates/NOSUCHCODE", [404, 404, 404, 404, 404]),
    "certificates.lookup": ("GET", "/certificates", [200, 200, 200, 200, 200]),
    "certificates.revoke": ("POST", "/certificates/NOSUCHCODE/revoke", [LOGIN, 403, 403, 404, 404]),
    "certificates.restore": ("POST", "/certificates/NOSUCHCODE/restore", [LOGIN, 403, 403, 404, 404]),
    "certificates.learning_csv": ("GET", "/account/learning-record.csv", [LOGIN, 200, 200, 200, 200]),
    "certificates.learning_pdf": ("GET", "/account/learning-record.pdf", [LOGIN, 200, 200, 200, 200]),
}


def test_every_endpoint_has_a_rule(app):
    """Walk the URL map: an endpoint without a policy rule would be denied to everyone, so fail now."""
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(policy.RULES))
    assert not missing, f"endpoints without a rule in app/policy.py: {missing}"


def test_every_endpoint_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), f"update MATRIX: {sorted(endpoints ^ set(MATRIX))}"


def test_no_stale_rules(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(policy.RULES) <= endpoints, f"rules for endpoints that do not exist: {set(policy.RULES) - endpoints}"


def test_endpoint_without_rule_is_denied(app, client, make_user, login_as):
    app.add_url_rule("/unruled", "unruled", lambda: "secret")
    login_as(make_user("admin"))
    response = client.get("/unruled")
    assert response.status_code == 403
    assert b"secret" not in response.data


def saved_search_of(app, user):
    """A saved search of ``user`` (its id and feed token)."""
    from types import SimpleNamespace

    from app.auth.models import User
    from app.extensions import db
    from app.search.parsing import SearchParams
    from app.search.saved import services

    with app.test_request_context():
        saved = services.save(db.session.get(User, user.id), SearchParams(q="bus"), "Target's buses")
        db.session.commit()
        return SimpleNamespace(id=saved.id, feed_token=saved.feed_token)


@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
def test_role_endpoint_matrix(app, client, make_user, login_as, make_case, make_meeting, role_index):
    role = ROLES[role_index]
    target = make_user("reader", claim=("KZ-39", None))
    case = make_case("published")  # owned by the Almaty akimat, of which the matrix's akim is a member
    meeting = make_meeting()  # open for registration
    saved = saved_search_of(app, target)
    if role != "anonymous":
        kwargs = {"akimat": ("KZ-75", None)} if role == "akim" else {}
        login_as(make_user(role, **kwargs))
    failures = []
    for endpoint, (method, url, expected) in MATRIX.items():
        path, _sep, query = url.format(target=target.id, case=case, meeting=meeting, saved=saved.id,
                                       token=saved.feed_token).partition("?")
        if method == "POST":
            data = dict(pair.split("=") for pair in query.split("&")) if query else {}
            response = client.post(path, data=data)
        else:
            response = client.get(path)
        response.close()  # static files are streamed from an open file
        want = expected[role_index]
        if want == LOGIN:
            ok = response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
        else:
            ok = response.status_code == want
        if not ok:
            failures.append(f"{endpoint} {method} {url}: expected {want}, got {response.status_code}")
        if method == "POST" and endpoint in {"auth.logout", "main.set_language"} and role != "anonymous":
            login_as(make_user(role, **({"akimat": ("KZ-75", None)} if role == "akim" else {})))
    assert not failures, "\n".join(failures)


def test_api_anonymous_gets_json_401_not_redirect(app, client):
    policy.RULES["regions_api.list_regions"], saved = policy.LOGIN, policy.RULES["regions_api.list_regions"]
    try:
        response = client.get("/api/v1/regions")
    finally:
        policy.RULES["regions_api.list_regions"] = saved
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
