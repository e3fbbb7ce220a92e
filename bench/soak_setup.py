"""``make soak``'s set-up, in the app (run by ``bench/soak.py`` on a database that has the demo data):
soak accounts, the soak meeting's seats, and the values of a valid case form; prints them as one JSON line.

    python bench/soak_setup.py CLIENTS PASSWORD CAPACITY
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from app import create_app
from app.auth.models import ClaimStatus
from app.auth.models import User
from app.auth.services import hash_password
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.meetings.models import Meeting
from app.meetings.models import RegistrationQuestion
from app.regions.services import find_akimat


def main() -> None:
    clients, password, capacity = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    app = create_app()
    with app.app_context():
        akimat = find_akimat("KZ-75")  # Almaty city: the soak akims write its case studies
        digest = hash_password(password)  # one hash for all: scrypt per account would take minutes
        accounts = []
        for n in range(max(1, clients // 3 + 1)):
            for role in ("akim", "reader"):
                user = User(email=f"soak-{role}-{n}@example.kz", full_name=f"Soak {role.title()} {n}",
                            password_hash=digest, role=role, preferred_language="ru", active=True)
                if role == "akim":
                    user.akimat = akimat
                    user.position = "Akim"
                    user.claim_status = ClaimStatus.APPROVED
                db.session.add(user)
                accounts.append({"email": user.email, "role": role})
        meeting = db.session.scalar(sa.select(Meeting).where(Meeting.state == "registration_open")
                                    .order_by(Meeting.id))
        meeting.capacity = capacity
        # The soak's readers post the register form's hidden fields only: no registration questions to answer.
        for question in db.session.scalars(sa.select(RegistrationQuestion)
                                           .where(RegistrationQuestion.meeting_id == meeting.id)):
            db.session.delete(question)
        slugs = list(db.session.scalars(sa.select(CaseStudy.slug).where(CaseStudy.state == "published")))
        db.session.commit()
        form = {"summary": "A soak-test practice: what we tried and what it changed.",
                "region_id": str(akimat.region_id), "municipality_id": str(akimat.municipality_id or 0),
                "level": akimat.level, "topics": ["transport"], "language": "ru", "started": "2024", "ended": "",
                "status": "implemented", "problem": "Residents waited too long.", "solution": "We changed the order.",
                "challenges": "The first month was hard.", "results": "Waiting halved.", "lessons": "Start small.",
                "budget_kzt": "1 000 000", "author_name": "Soak Akim", "author_position": "Akim", "contact": ""}
        print(json.dumps({"accounts": accounts, "meeting_id": meeting.id, "slugs": slugs, "case_form": form}))


if __name__ == "__main__":
    main()
