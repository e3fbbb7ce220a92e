"""Every model of every feature, imported in one place for Alembic and ``flask shell``."""

from app.audit.models import AuditEntry
from app.auth.models import User
from app.case_studies.models import Adoption
from app.case_studies.models import Answer
from app.case_studies.models import Attachment
from app.case_studies.models import CaseRevision
from app.case_studies.models import CaseStudy
from app.case_studies.models import CaseTopic
from app.case_studies.models import Follow
from app.case_studies.models import Question
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from app.search.models import SearchOutbox

__all__ = [
    "Adoption",
    "Akimat",
    "Answer",
    "Attachment",
    "AuditEntry",
    "CaseRevision",
    "CaseStudy",
    "CaseTopic",
    "Follow",
    "Municipality",
    "Question",
    "Region",
    "SearchOutbox",
    "User",
]
