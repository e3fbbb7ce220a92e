"""Words for the audit log: every action code the app records, and every kind of object it records them on.

The codes are written by ``app.audit.services.record`` callers across the features; a test walks the source for
them, so a new code without a label here fails the build.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    # Accounts (app/auth/services.py)
    "user.role_changed": _l("role changed"),
    "user.claim_rejected": _l("akimat claim rejected"),
    "user.deactivated": _l("account deactivated"),
    "user.activated": _l("account reactivated"),
    # Case studies and their files (app/case_studies/)
    "case.published": _l("case study published"),
    "case.withdrawn": _l("case study withdrawn"),
    "case.restored": _l("case study restored"),
    "attachment.uploaded": _l("file attached"),
    "attachment.deleted": _l("file deleted"),
    "adoption.recorded": _l("adoption recorded"),
    "adoption.updated": _l("adoption updated"),
    "adoption.deleted": _l("adoption removed"),
    # Meetings (app/meetings/services.py, app/meetings/commands.py)
    "meeting.create": _l("meeting created"),
    "meeting.update": _l("meeting changed"),
    "meeting.state": _l("meeting status changed"),
    "meeting.attendance": _l("attendance marked"),
    "certificate.revoke": _l("certificate revoked"),
    "certificate.restore": _l("certificate revocation lifted"),
    "meeting.reminder": _l("reminder sent to a participant"),
    "meeting.call_reminder": _l("reminder about the call for presentations sent"),
    # Registration questions (app/meetings/questions/services.py)
    "meeting.question_added": _l("registration question added"),
    "meeting.question_changed": _l("registration question changed"),
    "meeting.question_removed": _l("registration question removed"),
    # The programme (app/meetings/programme/services.py)
    "meeting.call_opened": _l("call for presentations opened"),
    "meeting.call_closed": _l("call for presentations closed"),
    "meeting.proposal_made": _l("presentation proposed"),
    "meeting.proposal_withdrawn": _l("proposal withdrawn"),
    "meeting.proposal_accepted": _l("proposal accepted"),
    "meeting.proposal_declined": _l("proposal declined"),
    "meeting.agenda_item_added": _l("agenda item added"),
    "meeting.agenda_item_changed": _l("agenda item changed"),
    "meeting.agenda_item_removed": _l("agenda item removed"),
    "meeting.outcomes_published": _l("outcomes published"),
    "meeting.outcomes_changed": _l("outcomes changed"),
    "meeting.commitment_added": _l("commitment recorded"),
    "meeting.commitment_removed": _l("commitment removed"),
    "meeting.commitment_adopted": _l("commitment turned into an adoption"),
    "meeting.commitment_updated": _l("progress reported on a commitment"),
    "meeting.commitment_reminder": _l("reminder about a commitment sent"),
    # The host rotation (app/meetings/rotation/services.py)
    "rotation.pin_added": _l("rotation: host pinned"),
    "rotation.pin_removed": _l("rotation: pin removed"),
    "rotation.exclusion_added": _l("rotation: host excluded"),
    "rotation.exclusion_lifted": _l("rotation: exclusion lifted"),
}

# Table names, as ``record`` stores them in ``AuditEntry.target_type``.
TARGET_TYPES = {
    "user": _l("account"),
    "case_study": _l("case study"),
    "adoption": _l("adoption"),
    "meeting": _l("meeting"),
    "meeting_registration": _l("registration"),
    "meeting_proposal": _l("proposal"),
    "agenda_item": _l("agenda item"),
    "meeting_commitment": _l("commitment"),
    "rotation_pin": _l("rotation pin"),
    "rotation_exclusion": _l("rotation exclusion"),
}


def action_label(code: str) -> str:
    """The words for ``code`` in the current language; an unknown code (an old or future one) as it is."""
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def target_type_label(target_type: str) -> str:
    """The words for a target type in the current language; an unknown one as it is."""
    label = TARGET_TYPES.get(target_type)
    return str(label) if label is not None else target_type
