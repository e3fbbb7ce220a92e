"""What the commitment partials read (``commitments.tracker(meeting=m)``, ``commitments.label(status)`` …).

The views that show them (the meeting page, the region profile, the tracker and a commitment's page) pass one
:class:`CommitmentsPage` as ``commitments``.
"""

from __future__ import annotations

from flask_login import current_user

from app.case_studies.attachments.services import format_size
from app.case_studies.attachments.services import label_for
from app.meetings.commitments import services
from app.meetings.models import Commitment
from app.policy import can


class CommitmentsPage:
    """What the commitment partials call."""

    statuses = services.STATUS_LABELS
    tracker = staticmethod(services.tracker)
    format_size = staticmethod(format_size)
    file_label = staticmethod(label_for)

    @staticmethod
    def label(status: str) -> str:
        label = services.STATUS_LABELS.get(status)
        return str(label) if label is not None else status

    @staticmethod
    def can_update(commitment: Commitment) -> bool:
        return can(current_user, "update_commitment", commitment)

    @staticmethod
    def offers_adoption(commitment: Commitment) -> bool:
        return services.offers_adoption(current_user, commitment)
