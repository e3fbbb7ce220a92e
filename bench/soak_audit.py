"""``make soak``'s audit of the database (run by ``bench/soak.py`` after the run): acknowledged writes that are
missing, registration states that differ from the last acknowledged action, seat counts that differ from rows.
Reads the acknowledged writes as JSON on stdin; prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from app import create_app
from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.case_studies.models import Question
from app.extensions import db
from app.meetings.models import Meeting
from app.meetings.models import Registration

EXPECTED = {"register": {"registered", "waitlisted"}, "cancel": {"cancelled"}}


def main() -> None:
    acknowledged = json.load(sys.stdin)
    app = create_app()
    with app.app_context():
        states = dict(db.session.execute(sa.select(CaseStudy.slug, CaseStudy.state)
                                         .where(CaseStudy.slug.in_(acknowledged["published"]))).all())
        lost_publishes = [slug for slug in acknowledged["published"] if states.get(slug) != "published"]
        bodies = list(db.session.scalars(sa.select(Question.body)))
        lost_questions = [marker for _slug, marker in acknowledged["questions"]
                          if not any(marker in body for body in bodies)]
        rows = dict(db.session.execute(
            sa.select(User.email, Registration.state).join(Registration, Registration.user_id == User.id)
            .where(Registration.meeting_id == acknowledged["meeting_id"])).all())
        mismatches = [f"{email}: acknowledged {action}, row {rows.get(email)}"
                      for email, action in acknowledged["registration"].items()
                      if rows.get(email) not in EXPECTED[action]]
        count_mismatches = []
        for meeting in db.session.scalars(sa.select(Meeting)):
            seats = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
                Registration.meeting_id == meeting.id, Registration.state == "registered"))
            if seats != meeting.registered_count or (meeting.capacity and seats > meeting.capacity):
                count_mismatches.append(f"meeting {meeting.id}: registered_count {meeting.registered_count}, "
                                        f"rows {seats}, capacity {meeting.capacity}")
        soak = db.session.get(Meeting, acknowledged["meeting_id"])
        waitlisted = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
            Registration.meeting_id == soak.id, Registration.state == "waitlisted"))
        counts = {"published cases": db.session.scalar(sa.select(sa.func.count()).select_from(CaseStudy)
                                                       .where(CaseStudy.state == "published")),
                  "questions": len(bodies), "seats taken": soak.registered_count, "capacity": soak.capacity,
                  "waitlisted": waitlisted}
        print(json.dumps({"lost_publishes": lost_publishes, "lost_questions": lost_questions,
                          "registration_mismatches": mismatches, "count_mismatches": count_mismatches,
                          "counts": counts}))


if __name__ == "__main__":
    main()
