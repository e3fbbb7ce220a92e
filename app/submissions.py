"""One-time form tokens: the same form sent twice (a double click, a resent request, two tabs racing) is taken
once.

A form carries a random token (:class:`OnceField`, made when the form is shown); the view claims it in the same
transaction as what the form creates (:func:`claim`): the table's primary key lets only one request insert a
given token, on SQLite and on PostgreSQL (where the second insert waits for the first to commit, then fails).
The second request is refused with a message and its form, so nothing is created twice and nothing typed is
lost. Tokens older than ``KEEP_DAYS`` are deleted as new ones come.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from wtforms import HiddenField

from app.clock import UTCDateTime
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db

TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
KEEP_DAYS = 2  # a form left open longer is sent as a new one (the token is gone): no harm, no duplicate check


class FormSubmission(db.Model):
    """A form token that was used: its submission was taken once."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


def new_token() -> str:
    return secrets.token_hex(16)


class OnceField(HiddenField):
    """The hidden one-time token of a form (a new one each time the form is shown)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=new_token, **kwargs)


def claim(token: str | None, user=None) -> None:
    """Take the submission of ``token`` (flushes, in a savepoint, no commit). A request without a well-formed
    token (a script, an old page) is taken as it comes: the token prevents accidents, it guards nothing.

    :raise ValidationFailed: the token was used already (this form was sent before).
    """
    if not token or not TOKEN_PATTERN.fullmatch(token):
        return
    expired = utcnow() - timedelta(days=KEEP_DAYS)
    db.session.execute(sa.delete(FormSubmission).where(FormSubmission.created_at < expired))
    try:
        with db.session.begin_nested():
            db.session.add(FormSubmission(token=token, user_id=user.id if user is not None else None))
    except IntegrityError:
        raise ValidationFailed([(None, _l("This was sent already, and it was taken once: look for it on the page."))]
                               ) from None
