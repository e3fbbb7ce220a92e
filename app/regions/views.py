"""Region pages and the regions API."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask import jsonify
from flask import render_template

from app.auth.models import Role
from app.auth.models import User
from app.case_studies import services as case_services
from app.case_studies.constants import case_labels
from app.case_studies.engagement import services as engagement
from app.case_studies.engagement.pages import EngagementPage
from app.extensions import db
from app.i18n import collation_key
from app.meetings.commitments.pages import CommitmentsPage
from app.meetings.programme.pages import ProgrammePage
from app.regions import services
from app.regions.models import Akimat
from app.regions.models import Region

bp = Blueprint("regions", __name__, url_prefix="/regions")
api_bp = Blueprint("regions_api", __name__, url_prefix="/api/v1")


@bp.route("/")
def index():
    """All 20 regions with their number of akimats and verified akims."""
    regions = services.all_regions()
    akim_counts = dict(
        db.session.execute(
            sa.select(Akimat.region_id, sa.func.count(User.id))
            .join(User, User.akimat_id == Akimat.id)
            .where(User.role == Role.AKIM, User.active.is_(True))
            .group_by(Akimat.region_id)
        ).all()
    )
    case_counts = case_services.counts_by_region()
    return render_template(
        "regions/index.html", regions=regions, akim_counts=akim_counts, case_counts=case_counts,
        **services.map_context(case_counts, "regions.profile"),
    )


@bp.route("/<iso_code>")
def profile(iso_code: str):
    """A region's profile: its akimats and verified akims."""
    region = services.get_region_or_404(iso_code)
    akims = sorted(db.session.scalars(
        sa.select(User)
        .join(Akimat, User.akimat_id == Akimat.id)
        .where(Akimat.region_id == region.id, User.role == Role.AKIM, User.active.is_(True))
    ), key=lambda user: collation_key(user.full_name))
    region_cases = case_services.published_query(case_services.ListFilters(regions=[region.iso_code]))
    cases = db.session.scalars(region_cases.limit(10)).all()
    case_total = db.session.scalar(sa.select(sa.func.count()).select_from(region_cases.order_by(None).subquery()))
    return render_template(
        "regions/profile.html",
        region=region,
        municipalities=services.municipalities_of(region),
        akims=akims,
        cases=cases,
        case_total=case_total,
        labels=case_labels(),
        taken=engagement.adoptions_by_region(region),
        engagement=EngagementPage(), programme=ProgrammePage(), commitments=CommitmentsPage(),
    )


@api_bp.route("/regions")
def list_regions():
    """``GET /api/v1/regions``: the 20 regions in ISO-code order (CONTRACTS.md §2)."""
    regions = db.session.scalars(sa.select(Region).order_by(Region.iso_code)).all()
    return jsonify(
        [
            {"iso_code": r.iso_code, "kind": r.kind, "name_en": r.name_en, "name_ru": r.name_ru, "name_kk": r.name_kk}
            for r in regions
        ]
    )
