"""Case-study pages: lists with filters, the case page, write/edit/preview, publish/withdraw/restore,
history and differences between revisions."""

from __future__ import annotations

import dataclasses
from collections import Counter

import sqlalchemy as sa
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from app import policy
from app.case_studies import services
from app.case_studies.attachments.pages import attachment_ui
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import LEVELS
from app.case_studies.constants import SECTIONS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.constants import case_labels
from app.case_studies.constants import evidence_options
from app.case_studies.engagement.pages import EngagementPage
from app.case_studies.forms import CaseStudyForm
from app.case_studies.forms import ConfirmForm
from app.case_studies.forms import ReasonForm
from app.case_studies.models import CaseState
from app.case_studies.models import CaseStudy
from app.errors import ValidationFailed
from app.extensions import db
from app.forms import commit_or_flash
from app.forms import flash_form_errors
from app.forms import keeps_input_on_expiry
from app.forms import populate_errors
from app.i18n import current_language
from app.inputs import parse_int
from app.markdown import render
from app.meetings.programme.pages import ProgrammePage
from app.regions.models import Municipality
from app.regions.models import Region
from app.regions.services import all_regions
from app.regions.services import map_context
from app.search.related import related as related_practices
from app.urls import page_arg
from app.urls import query_int

bp = Blueprint("case_studies", __name__, url_prefix="/cases")

PER_PAGE = 20
FILTER_KEYS = ("region", "topic", "level", "status", "language", "evidence")


def get_case_or_404(slug: str) -> CaseStudy:
    """The case study ``slug`` if the current user may see it; 404 otherwise (a draft's existence is
    not revealed to outsiders)."""
    case = services.get_by_slug(slug)
    if case is None or not policy.can_view_case(current_user, case):
        abort(404)
    return case


def require(action: str, case: CaseStudy) -> None:
    """Abort with 403 unless the current user may do ``action`` on ``case``."""
    if not policy.can(current_user, action, case):
        abort(403)


def read_filters() -> services.ListFilters:
    """List filters from the query string; unknown values are dropped, not errors."""
    args = request.args
    return services.ListFilters(
        regions=[v.upper() for v in args.getlist("region") if len(v) <= 6][:20],
        topics=[v for v in args.getlist("topic") if v in TOPICS],
        levels=[v for v in args.getlist("level") if v in LEVELS],
        statuses=[v for v in args.getlist("status") if v in STATUSES],
        languages=[v for v in args.getlist("language") if v in CASE_LANGUAGES],
        evidence_levels=sorted({int(v) for v in args.getlist("evidence") if v in EVIDENCE_VALUES}),
    )


EVIDENCE_VALUES = {str(level) for level in EVIDENCE_LEVELS}  # "1".."5": the evidence filter's values


@bp.route("/")
def index():
    """Published case studies, newest first, filtered by region, topic, level, status, language and evidence level
    (with the number of case studies at each evidence level)."""
    filters = read_filters()
    page = db.paginate(services.published_query(filters), page=page_arg(), per_page=PER_PAGE, error_out=False)
    regions = all_regions()
    active = {key: request.args.getlist(key) for key in FILTER_KEYS if request.args.getlist(key)}
    return render_template(
        "case_studies/index.html", page=page, filters=filters, regions=regions, active=active,
        topics=TOPICS, levels=LEVELS, statuses=STATUSES, languages=CASE_LANGUAGES, labels=case_labels(),
        evidence_counts=services.evidence_counts(filters),
    )


@bp.route("/mine")
def mine():
    """The current akim's akimat's case studies in every state (drafts and withdrawn ones included)."""
    if not policy.can(current_user, "create_case"):
        abort(403)
    cases = db.session.scalars(
        sa.select(CaseStudy).where(CaseStudy.akimat_id == current_user.akimat_id).order_by(CaseStudy.updated_at.desc())
    ).all()
    return render_template("case_studies/mine.html", cases=cases, labels=case_labels())


@bp.route("/<slug>")
def detail(slug: str):
    """The case page."""
    return render_detail(get_case_or_404(slug))


def render_detail(case: CaseStudy, submitted: dict | None = None) -> str:
    """The case page of ``case`` with everything its partials show: attachments, meetings, questions,
    adoptions, follow buttons.

    :param submitted: forms refused in this request (see :class:`EngagementPage`), shown as they were sent.
    """
    sections = [(name, label, render(getattr(case, name))) for name, label in SECTIONS.items()]
    adopted = [a for a in case.adoptions if a.status != "abandoned"]
    marked = {a.akimat.region.iso_code: "adopted" for a in adopted}
    marked[case.region.iso_code] = "author"
    counts = Counter(a.akimat.region.iso_code for a in adopted)
    return render_template(
        "case_studies/detail.html", case=case, sections=sections, labels=case_labels(),
        **map_context(counts, "regions.profile", marked=marked),
        withdraw_form=ReasonForm(), confirm_form=ConfirmForm(), related=related_practices(case, limit=5),
        can=lambda action, obj=case: policy.can(current_user, action, obj),
        attachment_ui=attachment_ui, engagement=EngagementPage(submitted), programme=ProgrammePage(),
    )


def _region_choices() -> list[SelectChoice]:
    regions = all_regions()
    return [SelectChoice(0, "—")] + [SelectChoice(r.id, r.name()) for r in regions]


def _municipality_choices() -> list[SelectChoice]:
    rows = db.session.execute(sa.select(Municipality, Region).join(Region)).all()
    language = current_language()
    ordered = sorted(rows, key=lambda row: (row[1].name(language), row[0].kind != "city", row[0].name(language)))
    return [SelectChoice(0, "—")] + [
        SelectChoice(m.id, m.name(language), optgroup=r.name(language)) for m, r in ordered
    ]


def evidence_choices() -> list[SelectChoice]:
    """The evidence-level select: "not assessed", then each level with its meaning."""
    return [SelectChoice("", _("Not assessed"))] + [
        SelectChoice(level, label) for level, label in evidence_options().items()]


def _prepare(form: CaseStudyForm) -> CaseStudyForm:
    form.evidence_level.choices = evidence_choices()
    form.region_id.choices = _region_choices()
    form.municipality_id.choices = _municipality_choices()
    return form


def _data_from_form(form: CaseStudyForm, budget) -> services.CaseData:
    """Map the form onto CaseData (``budget``: the parsed budget field)."""
    return services.CaseData(
        title=form.title.data or "", summary=form.summary.data or "", region_id=form.region_id.data or 0,
        municipality_id=form.municipality_id.data or None, level=form.level.data or "",
        language=form.language.data or "", started=form.started.data, ended=form.ended.data,
        status=form.status.data or "", problem=form.problem.data or "", solution=form.solution.data or "",
        challenges=form.challenges.data or "", results=form.results.data or "", lessons=form.lessons.data or "",
        budget_kzt=budget, author_name=form.author_name.data or "",
        author_position=form.author_position.data or "", contact=(form.contact.data or "").strip() or None,
        topics=list(form.topics.data or []), evidence_level=form.evidence_level.data or None,
        evidence_url=(form.evidence_url.data or "").strip() or None,
    )


def _submission(form: CaseStudyForm, *, for_publication: bool = False, attachments: int = 0
                ) -> services.CaseData | None:
    """The posted case study, checked as a whole: every problem of one submission is on the form at once (the
    form's own checks, the budget, and the service's rules), one message per field; None when there is any."""
    valid = form.validate()
    errors = []
    try:
        budget = services.parse_budget(form.budget_kzt.data)
    except ValidationFailed as error:
        errors += error.errors
        budget = None
    data = _data_from_form(form, budget)
    try:
        services.validate(dataclasses.replace(data), for_publication=for_publication, attachments=attachments)
    except ValidationFailed as error:
        errors += error.errors
    # A field the form already refused ("not a number") gets no second message about the same value.
    errors = [(name, message) for name, message in errors if not (name in form._fields and form[name].errors)]
    if errors:
        populate_errors(form, ValidationFailed(errors))
    return data if valid and not errors else None


def _preview(form: CaseStudyForm) -> list:
    return [(name, label, render(getattr(form, name).data)) for name, label in SECTIONS.items()]


def _preview_facts(form: CaseStudyForm) -> list[tuple[str, str]]:
    """(label, value) of the case's facts as the preview shows them: the chosen options' labels."""
    def chosen(field) -> str:
        return next((str(c.label) for c in field.choices if c.value == field.data and c.value), "")

    years = f"{form.started.data}–{form.ended.data}" if form.ended.data else str(form.started.data or "")
    topics = ", ".join(str(c.label) for c in form.topics.choices if c.value in (form.topics.data or []))
    return [(_("Region"), chosen(form.region_id)), (_("District or city"), chosen(form.municipality_id)),
            (_("Level of the akimat"), chosen(form.level)), (_("Status"), chosen(form.status)),
            (_("Years"), years), (_("Topics"), topics), (_("Evidence level"), chosen(form.evidence_level))]


@bp.route("/new", methods=["GET", "POST"])
@keeps_input_on_expiry
def new():
    """Write a new case study (saved as a draft of the akim's akimat)."""
    if not policy.can(current_user, "create_case"):
        abort(403)
    form = _prepare(CaseStudyForm())
    if request.method == "GET":
        akimat = current_user.akimat
        form.region_id.data = akimat.region_id
        form.municipality_id.data = akimat.municipality_id or 0
        form.level.data = akimat.level
        form.language.data = current_language()
        form.author_name.data = current_user.full_name
        form.author_position.data = current_user.position or ""
    preview = None
    data = _submission(form) if form.is_submitted() else None
    if data is not None:
        if form.preview.data:
            preview = _preview(form)
        else:
            done = commit_or_flash(lambda: services.create_case(current_user, current_user.akimat, data), form)
            if done:
                flash(_("Draft saved. Only your akimat can see it until you publish it."), "success")
                return redirect(url_for("case_studies.detail", slug=done.value.slug))
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template("case_studies/form.html", form=form, case=None, preview=preview,
                           preview_facts=_preview_facts(form) if preview else []), status


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@keeps_input_on_expiry
def edit(slug: str):
    """Edit a case study; a save based on an outdated version is refused and the text kept."""
    case = get_case_or_404(slug)
    require("edit_case", case)
    form = _prepare(CaseStudyForm(obj=case) if request.method == "GET" else CaseStudyForm())
    if request.method == "GET":
        form.version.data = str(case.version)
        form.topics.data = case.topics
        form.budget_kzt.data = "" if case.budget_kzt is None else str(services.budget_number(case.budget_kzt))
        form.municipality_id.data = case.municipality_id or 0
        form.evidence_level.data = case.evidence_level or 0
    preview = conflict = None
    data = (_submission(form, for_publication=case.is_published, attachments=len(case.attachments))
            if form.is_submitted() else None)
    if data is not None:
        if form.preview.data:
            preview = _preview(form)
        else:
            expected = parse_int(form.version.data, minimum=0)
            expected = -1 if expected is None else expected
            try:
                done = commit_or_flash(lambda: services.update_case(current_user, case, data, expected), form)
            except (services.EditConflict, StaleDataError) as error:
                db.session.rollback()
                case = services.get_by_slug(slug)
                conflict = {"by": case.updated_by, "at": case.updated_at,
                            "fields": getattr(error, "fields", [])}
                # The next save is a deliberate overwrite of the version now shown: the user saw the warning.
                form.version.data = str(case.version)
            else:
                if done:
                    flash(_("Saved."), "success")
                    return redirect(url_for("case_studies.detail", slug=case.slug))
    status = 409 if conflict else (400 if request.method == "POST" and form.errors else 200)
    return render_template("case_studies/form.html", form=form, case=case, preview=preview, conflict=conflict,
                           section_labels=field_labels(), preview_facts=_preview_facts(form) if preview else []
                           ), status


@bp.route("/<slug>/publish", methods=["POST"])
def publish(slug: str):
    """Publish a draft, or re-publish a withdrawn case study."""
    case = get_case_or_404(slug)
    require("publish_case", case)
    return _transition(case, lambda: services.publish(current_user, case), _("Published. Everyone can now read it."))


@bp.route("/<slug>/restore", methods=["POST"])
def restore(slug: str):
    """Undo a withdrawal."""
    case = get_case_or_404(slug)
    require("publish_case", case)
    if case.state != CaseState.WITHDRAWN:
        abort(400, description=_("Only a withdrawn case study can be restored."))
    return _transition(case, lambda: services.publish(current_user, case), _("Restored and published again."))


@bp.route("/<slug>/withdraw", methods=["POST"])
def withdraw(slug: str):
    """Withdraw a published case study, with a reason."""
    case = get_case_or_404(slug)
    require("withdraw_case", case)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("case_studies.detail", slug=case.slug)), 303
    return _transition(case, lambda: services.withdraw(current_user, case, form.reason.data),
                       _("Withdrawn. It no longer appears in lists, feeds, the API or search."))


def _transition(case: CaseStudy, action, success: str):
    if not commit_or_flash(action):
        return redirect(url_for("case_studies.edit" if case.state == CaseState.DRAFT else "case_studies.detail",
                                slug=case.slug))
    flash(success, "success")
    return redirect(url_for("case_studies.detail", slug=case.slug))


@bp.route("/<slug>/history")
def history(slug: str):
    """The revisions of a case study."""
    case = get_case_or_404(slug)
    return render_template("case_studies/history.html", case=case, revisions=list(reversed(case.revisions)))


@bp.route("/<slug>/diff")
def diff(slug: str):
    """What changed between two revisions (``?a=1&b=2``; defaults: the last two)."""
    case = get_case_or_404(slug)
    numbers = [r.number for r in case.revisions]
    if len(numbers) < 2:
        return redirect(url_for("case_studies.history", slug=slug))
    a = query_int("a") or numbers[-2]
    b = query_int("b") or numbers[-1]
    revisions = {r.number: r for r in case.revisions}
    if a not in revisions or b not in revisions:
        abort(404)
    snapshots = services.revision_snapshots(case)
    changes = services.diff_revisions(snapshots[a], snapshots[b])
    return render_template("case_studies/diff.html", case=case, old=revisions[a], new=revisions[b], changes=changes,
                           field_labels=field_labels(), numbers=numbers)


def field_labels() -> dict:
    """Translated names of the fields a revision records (for diffs and edit-conflict notices)."""
    return {**SECTIONS, "title": _("Title"), "summary": _("Summary"), "topics": _("Topics"),
            "status": _("Status"), "level": _("Level of the akimat"), "region": _("Region"),
            "district": _("District or city"), "language": _("Language of the text"),
            "started": _("Started (year)"), "ended": _("Ended (year)"), "budget_kzt": _("Budget (tenge)"),
            "author_name": _("Author"), "author_position": _("Author's position"),
            "contact": _("Contact person"), "evidence_level": _("Evidence level"),
            "evidence_url": _("Link to the evaluation")}

