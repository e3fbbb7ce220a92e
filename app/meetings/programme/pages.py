"""What the programme partials read (``programme.timetable(meeting)``, ``programme.can_convert(c)`` …).

The views that show them build one :class:`ProgrammePage` and pass it as ``programme``: the meeting page
(``_programme.html``), the case page (``_case_meetings.html``), the region profile
(``_region_commitments.html``) and the programme's own pages.
"""

from __future__ import annotations

from flask_login import current_user

from app.markdown import render
from app.meetings.commitments.services import STATUS_LABELS
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.programme import services as programme
from app.meetings.programme.forms import ConfirmForm
from app.policy import can


class ProgrammePage:
    """What the programme partials call (``programme.timetable(meeting)`` …)."""

    kinds = programme.AGENDA_KIND_LABELS
    actions = programme.COMMITMENT_ACTIONS
    proposal_states = programme.PROPOSAL_STATE_LABELS
    statuses = STATUS_LABELS

    timetable = staticmethod(programme.timetable)
    call_is_open = staticmethod(programme.call_is_open)
    presentations_of = staticmethod(programme.presentations_of)
    commitments_for_case = staticmethod(programme.commitments_for_case)
    commitments_for_region = staticmethod(programme.commitments_for_region)

    @staticmethod
    def markdown(text: str):
        return render(text)

    @staticmethod
    def my_proposals(meeting: Meeting) -> list[Proposal]:
        return programme.proposals_of(meeting, current_user) if can(current_user, "propose") else []

    @staticmethod
    def can_propose(meeting: Meeting) -> bool:
        return can(current_user, "propose") and programme.call_is_open(meeting)

    @staticmethod
    def is_organiser() -> bool:
        return can(current_user, "manage_meetings")

    @staticmethod
    def can_convert(commitment: Commitment) -> bool:
        return commitment.adoption_id is None and can(current_user, "convert_commitment", commitment)

    @staticmethod
    def confirm_form() -> ConfirmForm:
        return ConfirmForm(formdata=None)
