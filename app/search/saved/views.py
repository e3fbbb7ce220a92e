"""Saved searches: save from the results page, rename, delete, a new feed link (all POST, PRG), and the Atom
feed reached by its token (``GET /search/saved/<token>.atom``, no session needed).

They are managed on the profile page (``templates/search/saved/_list.html``, data from :mod:`.pages`): every
action but saving returns there.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import policy
from app.case_studies.feeds import ATOM_CONTENT_TYPE
from app.case_studies.feeds import FEED_SIZE
from app.case_studies.feeds import build_feed
from app.extensions import db
from app.forms import commit_or_flash
from app.forms import flash_form_errors
from app.search.index import IndexUnavailable
from app.search.parsing import parse_params
from app.search.saved import alerts
from app.search.saved import services
from app.search.saved.forms import RenameForm
from app.search.saved.forms import SaveSearchForm
from app.search.saved.models import SavedSearch

bp = Blueprint("saved_searches", __name__, url_prefix="/search/saved")


def get_own(saved_id: int) -> SavedSearch:
    """The current user's saved search ``saved_id``.

    :raise 404: no such saved search, or someone else's (whose existence is not given away).
    """
    saved = db.session.get(SavedSearch, saved_id)
    if saved is None or not policy.can(current_user, "manage_saved_search", saved):
        abort(404)
    return saved


def _to_profile():
    return redirect(url_for("auth.profile", _anchor="saved-searches"), 303)


@bp.route("", methods=["POST"])
def save():
    """Save the search posted from the results page (its words, filters, years and sort) under a name."""
    form = SaveSearchForm()
    params, problems = parse_params(request.form)
    back = redirect(url_for("search.results", **({"q": params.q} if params.q else {}), **services.filters_of(params)),
                    303)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    if problems:  # a value the page never offers: refuse rather than save a different search than was asked
        flash(_("This search could not be saved: one of its filters has a value that does not exist. Check the "
                "filters and try again."), "error")
        return back
    done = commit_or_flash(lambda: services.save(current_user, params, form.name.data))
    if done:
        flash(_("Search saved as “%(name)s”. Its new matches come in your e-mail digest.", name=done.value.name),
              "success")
    return back


@bp.route("/<int:saved_id>/rename", methods=["POST"])
def rename(saved_id: int):
    """Rename one's saved search."""
    saved = get_own(saved_id)
    form = RenameForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif commit_or_flash(lambda: services.rename(saved, form.name.data)):
        flash(_("The saved search is now called “%(name)s”.", name=saved.name), "success")
    return _to_profile()


@bp.route("/<int:saved_id>/delete", methods=["POST"])
def delete(saved_id: int):
    """Delete one's saved search."""
    saved = get_own(saved_id)
    name = saved.name
    if commit_or_flash(lambda: services.delete(saved)):
        flash(_("Saved search “%(name)s” deleted.", name=name), "success")
    return _to_profile()


@bp.route("/<int:saved_id>/feed-token", methods=["POST"])
def rotate_token(saved_id: int):
    """Give one's saved search a new feed link (the old one stops working)."""
    saved = get_own(saved_id)
    if commit_or_flash(lambda: services.rotate_token(saved)):
        flash(_("The feed of “%(name)s” has a new link; the old link no longer works.", name=saved.name), "success")
    return _to_profile()


@bp.route("/<token>.atom")
def feed(token: str):
    """The newest matches of a saved search as an Atom feed; the token in the link is the only key."""
    saved = services.by_token(token)
    if saved is None:
        abort(404)
    try:
        cases = alerts.feed_cases(saved, FEED_SIZE)
    except IndexUnavailable:
        current_app.logger.warning("Search index unavailable: saved search feed %s not built", saved.id)
        return Response("The search index is unavailable; try again later.\n", status=503,
                        content_type="text/plain; charset=utf-8", headers={"Retry-After": "300"})
    body = build_feed(cases, title=_("Saved search: %(name)s", name=saved.name),
                      self_url=url_for("saved_searches.feed", token=token, _external=True),
                      alternate_url=url_for("search.results", _external=True, **services.args_of(saved)))
    response = Response(body, content_type=ATOM_CONTENT_TYPE)
    response.vary.update(("Accept-Language", "Cookie"))  # the feed title follows the reader's language
    response.headers["X-Robots-Tag"] = "noindex"  # a private link: never listed by a search engine
    response.cache_control.private = True
    return response
