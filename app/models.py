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
from app.meetings.models import AgendaItem
from app.meetings.models import Certificate
from app.meetings.models import Commitment
from app.meetings.models import CommitmentUpdate
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import Registration
from app.meetings.models import RegistrationAnswer
from app.meetings.models import RegistrationQuestion
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from app.search.models import SearchOutbox
from app.search.saved.models import SavedSearch
from app.submissions import FormSubmission

__all__ = [
    "Adoption",
    "AgendaItem",
    "Akimat",
    "Answer",
    "Attachment",
    "AuditEntry",
    "CaseRevision",
    "CaseStudy",
    "CaseTopic",
    "Certificate",
    "Commitment",
    "CommitmentUpdate",
    "Follow",
    "FormSubmission",
    "Meeting",
    "Municipality",
    "Proposal",
    "Question",
    "Region",
    "Registration",
    "RegistrationAnswer",
    "RegistrationQuestion",
    "RotationExclusion",
    "RotationPin",
    "SavedSearch",
    "SearchOutbox",
    "User",
]
