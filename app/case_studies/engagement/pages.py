"""What the engagement partials read: the case page's questions, adoptions and follow buttons, and the region
profile's adoptions. The views that show them build one :class:`EngagementPage` and pass it as ``engagement``.
"""

from __future__ import annotations

from flask_login import current_user

from app import policy
from app.case_studies.constants import ADOPTION_STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.engagement import services as engagement
from app.case_studies.engagement.forms import ADOPTION_PREFIX
from app.case_studies.engagement.forms import QUESTION_PREFIX
from app.case_studies.engagement.forms import AdoptionForm
from app.case_studies.engagement.forms import AnswerForm
from app.case_studies.engagement.forms import QuestionForm
from app.case_studies.engagement.forms import answer_prefix
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.case_studies.models import Question
from app.case_studies.services import last_allowed_year
from app.markdown import render


class EngagementPage:
    """The ``engagement`` object in templates: queries and forms for the case-page partials.

    :param submitted: forms refused in this request, by key ("ask", "adopt" or ("answer", question id)); they
        are shown as the user sent them, with their errors.
    """

    statuses = ADOPTION_STATUSES
    topics = TOPICS

    def __init__(self, submitted: dict | None = None):
        self._forms = submitted or {}
        self._follow_keys: set | None = None

    def _submitted(self, key):
        return self._forms.get(key)

    def question_form(self) -> QuestionForm:
        return self._submitted("ask") or QuestionForm(formdata=None, prefix=QUESTION_PREFIX)

    def answer_form(self, question: Question) -> AnswerForm:
        return self._submitted(("answer", question.id)) or AnswerForm(
            formdata=None, prefix=answer_prefix(question.id)
        )

    def submitted(self, key) -> bool:
        """Whether the form ``key`` ("ask", "adopt" or ("answer", id)) was refused in this request."""
        return self._submitted(key) is not None

    def adoption_form(self, case: CaseStudy) -> AdoptionForm:
        form = self._submitted("adopt")
        if form is not None:
            return form
        own = engagement.own_adoption(current_user, case)
        if own is not None:
            data = {"year": str(own.year), "status": own.status, "note": own.note, "reason": own.reason or ""}
        else:  # this year, unless the practice itself starts next year
            data = {"year": str(max(case.started, last_allowed_year() - 1)), "status": "adopted"}
        return AdoptionForm(formdata=None, prefix=ADOPTION_PREFIX, data=data)

    @staticmethod
    def questions(case: CaseStudy):
        return engagement.questions_of(case)

    @staticmethod
    def unanswered_count(case: CaseStudy) -> int:
        return engagement.unanswered_count(case)

    @staticmethod
    def adoptions(case: CaseStudy):
        return engagement.adoptions_of(case)

    @staticmethod
    def adoption_summary(case: CaseStudy):
        return engagement.adoption_summary(case)

    @staticmethod
    def own_adoption(case: CaseStudy):
        return engagement.own_adoption(current_user, case)

    @staticmethod
    def can_delete(adoption: Adoption) -> bool:
        return policy.can(current_user, "delete_adoption", adoption)

    @staticmethod
    def adoptions_by_region(region):
        return engagement.adoptions_by_region(region)

    def is_following(self, kind: str, key: str) -> bool:
        if self._follow_keys is None:  # one query per page, however many follow buttons it has
            self._follow_keys = engagement.follow_keys(current_user)
        return (kind, key) in self._follow_keys

    @staticmethod
    def markdown(text: str):
        return render(text)
