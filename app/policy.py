"""Who may reach which endpoint: the one place that decides, deny by default.

Every endpoint must have a rule in :data:`RULES`. A request for an endpoint without a rule is refused
with 403 (and a test walks ``app.url_map`` so that a missing rule fails the build before it ships).
Object-level questions ("may this akim edit that case study?", "may this user turn that commitment into an
adoption?") are answered by :func:`can`, from the role predicates on ``User`` (``is_organiser``,
``is_verified_akim_of``); features ask :func:`can` and write no role checks of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from flask import abort
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.api import STATUS_CODES
from app.api import json_error
from app.auth.models import Role
from app.case_studies.models import CaseState


@dataclass(frozen=True)
class Rule:
    """Access rule for an endpoint.

    ``public``: anyone; ``login``: any logged-in user; ``roles``: a logged-in user holding one of
    ``roles`` (admins hold every role).
    """

    kind: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def allows(self, user) -> bool:
        """Return whether ``user`` (possibly anonymous) passes this rule."""
        if self.kind == "public":
            return True
        if not user.is_authenticated:
            return False
        if self.kind == "login":
            return True
        return user.has_role(*self.roles)


PUBLIC = Rule("public")
LOGIN = Rule("login")


def roles(*names: str) -> Rule:
    """Rule for users holding one of ``names``."""
    return Rule("roles", frozenset(names))


ADMIN = roles(Role.ADMIN)
AKIM = roles(Role.AKIM)
AKIM_OR_ADMIN = roles(Role.AKIM, Role.ADMIN)
ORGANISER = roles(Role.ORGANISER)

RULES: dict[str, Rule] = {
    "static": PUBLIC,
    "main.home": PUBLIC,
    "main.set_language": PUBLIC,
    "main.about": PUBLIC,
    "main.api": PUBLIC,
    "openapi.document": PUBLIC,
    "main.privacy": PUBLIC,
    "main.accessibility": PUBLIC,
    "main.robots": PUBLIC,
    "main.sitemap": PUBLIC,
    "main.favicon": PUBLIC,
    "main.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.register": PUBLIC,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.logout": LOGIN,
    "auth.profile": LOGIN,
    "auth.change_password": LOGIN,
    "regions.index": PUBLIC,
    "regions.profile": PUBLIC,
    "regions_api.list_regions": PUBLIC,
    "admin.users": ADMIN,
    "admin.user_detail": ADMIN,
    "admin.approve": ADMIN,
    "admin.reject": ADMIN,
    "admin.set_active": ADMIN,
    "admin.audit": ADMIN,
    "admin.audit_csv": ADMIN,
    # Case studies. Object-level checks (draft visibility, akimat membership) are made by can() in the views.
    "case_studies.index": PUBLIC,
    "case_studies.detail": PUBLIC,
    "case_studies.new": AKIM,
    "case_studies.edit": AKIM,
    "case_studies.publish": AKIM_OR_ADMIN,
    "case_studies.withdraw": AKIM_OR_ADMIN,
    "case_studies.restore": AKIM_OR_ADMIN,
    "case_studies.history": PUBLIC,
    "case_studies.diff": PUBLIC,
    "case_studies.mine": AKIM,
    "attachments.upload": AKIM,
    "attachments.download": PUBLIC,
    "attachments.delete": AKIM,
    "engagement.ask": LOGIN,
    "engagement.answer": AKIM,
    "engagement.adopt": AKIM,
    "engagement.delete_adoption": AKIM,
    "engagement.follow": LOGIN,
    "engagement.unfollow": LOGIN,
    "engagement.following": LOGIN,
    "feeds.all_cases": PUBLIC,
    "feeds.region_cases": PUBLIC,
    "feeds.topic_cases": PUBLIC,
    "cases_api.get_case": PUBLIC,
    "search.results": PUBLIC,
    "search_api.search": PUBLIC,
    # Saved searches: any logged-in user keeps their own (object check: can(..., "manage_saved_search", ...), a
    # foreign one answers 404); the feed is public to whoever holds its unguessable token, and to no one else.
    "saved_searches.save": LOGIN,
    "saved_searches.rename": LOGIN,
    "saved_searches.delete": LOGIN,
    "saved_searches.rotate_token": LOGIN,
    "saved_searches.feed": PUBLIC,
    # Meetings: public reading and calendars; registration for any logged-in user; organisers manage.
    "meetings.index": PUBLIC,
    "meetings.detail": PUBLIC,
    "meetings.meeting_ics": PUBLIC,
    "meetings.feed": PUBLIC,
    "meetings.new": ORGANISER,
    "meetings.edit": ORGANISER,
    "meetings.change_state": ORGANISER,
    "meetings.register": LOGIN,
    "meetings.update_registration": LOGIN,  # one's own answers and public listing (the service finds the row)
    "meetings.cancel": LOGIN,
    "meetings.registrations": ORGANISER,
    "meetings.registrations_csv": ORGANISER,
    "meetings.attendance": ORGANISER,
    # Registration questions: organisers write them; everyone registering answers them on the meeting page.
    "questions.manage": ORGANISER,
    "questions.add": ORGANISER,
    "questions.edit": ORGANISER,
    "questions.delete": ORGANISER,
    "questions.move": ORGANISER,
    "meetings_api.list_meetings": PUBLIC,
    "meetings_api.get_meeting": PUBLIC,
    # Rotation: the plan and the history are public (a plan meant to be defended in public); organisers change it.
    "rotation.plan": PUBLIC,
    "rotation.add_pin": ORGANISER,
    "rotation.remove_pin": ORGANISER,
    "rotation.add_exclusion": ORGANISER,
    "rotation.lift_exclusion": ORGANISER,
    "rotation_api.plan": PUBLIC,
    # Programme: organisers run the call, the agenda and the outcomes; akims propose (their own akimat's
    # published cases, checked in app/meetings/programme/services.py); the printed agenda is public like the meeting.
    "programme.manage": ORGANISER,
    "programme.open_call": ORGANISER,
    "programme.close_call": ORGANISER,
    "programme.propose": AKIM,
    "programme.withdraw": AKIM,
    "programme.decide": ORGANISER,
    "programme.new_item": ORGANISER,
    "programme.edit_item": ORGANISER,
    "programme.delete_item": ORGANISER,
    "programme.print_agenda": PUBLIC,
    "programme.outcomes": ORGANISER,
    "programme.add_commitment": ORGANISER,
    "programme.delete_commitment": ORGANISER,
    "programme.adopt_commitment": roles(Role.AKIM, Role.ORGANISER),  # object check: the committed akimat
    # Commitments followed up: the tracker, a commitment's page and its evidence files are public (progress is
    # reported in public); the committed akimat's akims and organisers post updates (object check: can()).
    "commitments.index": PUBLIC,
    "commitments.detail": PUBLIC,
    "commitments.evidence": PUBLIC,
    "commitments.post_update": roles(Role.AKIM, Role.ORGANISER),
    # Certificates of participation: the attendee downloads theirs, organisers anyone's (object check:
    # can(..., "download_certificate", registration)); the verification page is public and shows only the name and
    # the meeting; organisers revoke. The learning record is one's own.
    "certificates.download": LOGIN,
    "certificates.verify": PUBLIC,
    "certificates.lookup": PUBLIC,
    "certificates.revoke": ORGANISER,
    "certificates.restore": ORGANISER,
    "certificates.learning_csv": LOGIN,
    "certificates.learning_pdf": LOGIN,
}


def rule_for(endpoint: str | None) -> Rule | None:
    """Return the rule for ``endpoint``, or None when it has none (which means: denied)."""
    return RULES.get(endpoint or "")


def enforce():
    """``before_request`` hook: let the request through, or answer 401/login redirect/403."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: the 404/405 handlers answer
        return None
    rule = rule_for(endpoint)
    if rule is None:
        abort(403)
    if rule.allows(current_user):
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            return json_error(401, STATUS_CODES[401], _("Please log in."))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


# Actions that need no object: who the user is decides.
USER_RULES = {
    "manage_users": lambda user: user.is_admin,
    "create_case": lambda user: user.is_verified_akim,
    "manage_meetings": lambda user: user.is_organiser,  # meetings, their programme, the rotation
    "manage_registration_questions": lambda user: user.is_organiser,  # and reading everyone's answers
    "propose": lambda user: user.is_verified_akim,  # a case study for a meeting (while its call is open)
}
# Actions on a meeting's commitment, a proposal or an adoption: the akimat it belongs to decides.
OBJECT_RULES = {
    "convert_commitment": lambda user, c: user.is_organiser or user.is_verified_akim_of(c.akimat_id),
    "update_commitment": lambda user, c: user.is_organiser or user.is_verified_akim_of(c.akimat_id),
    "withdraw_proposal": lambda user, p: user.is_verified_akim_of(p.case_study.akimat_id),
    "delete_adoption": lambda user, a: user.is_verified_akim_of(a.akimat_id),
    "manage_saved_search": lambda user, s: s.user_id == user.id,  # one's own only; not even admins see others'
    "download_certificate": lambda user, r: r.user_id == user.id or user.is_organiser,  # r: the registration
    "revoke_certificate": lambda user, c: user.is_organiser,
}


def can(user, action: str, obj=None) -> bool:
    """Object-level permission check; unknown actions are denied.

    :param user: a user, the anonymous user, or None (denied).
    :param action: e.g. ``"manage_users"``, ``"edit_case"`` (``obj``: the case study, or an object with a
        ``case_study``), ``"convert_commitment"`` and ``"update_commitment"`` (``obj``: the commitment).
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if action in USER_RULES:
        return bool(USER_RULES[action](user))
    if obj is None:
        return False
    if action in OBJECT_RULES:
        return bool(OBJECT_RULES[action](user, obj))
    case = obj_case(obj)
    member = is_member(user, case)
    published = case.is_published
    rules = {
        "edit_case": member,
        "publish_case": member or (user.is_admin and case.state == CaseState.WITHDRAWN),
        "withdraw_case": published and (member or user.is_admin),
        "manage_attachments": member,
        "answer": published and member,
        "ask": published,
        "adopt": published and user.is_verified_akim and not member,
    }
    return rules.get(action, False)


def is_member(user, case) -> bool:
    """Whether ``user`` is a verified akim of the akimat that owns ``case``."""
    return bool(user is not None and user.is_authenticated and user.is_verified_akim_of(case.akimat_id))


def can_view_case(user, case) -> bool:
    """Published case studies are public; drafts and withdrawn ones only for their akimat and admins."""
    if case.is_published:
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_admin or is_member(user, case)


def obj_case(obj):
    """The case study an object belongs to (the object itself, or its ``case_study``)."""
    return getattr(obj, "case_study", None) or obj
