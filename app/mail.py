"""The one mail service: SMTP when ``MAIL_SERVER`` is set, otherwise .eml files in the outbox folder."""

from __future__ import annotations

import smtplib
import uuid
from datetime import UTC
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from email.utils import make_msgid
from pathlib import Path

from flask import Flask
from flask import current_app
from flask import render_template
from flask_babel import force_locale

from app.inputs import single_line


def init_app(app: Flask) -> None:
    """Read the mail settings (defaults documented in config.py)."""
    app.config.setdefault("MAIL_SERVER", None)
    app.config.setdefault("MAIL_OUTBOX_DIR", str(Path(app.instance_path) / "outbox"))


def build_message(to: str, subject: str, body: str, attachments: tuple = ()) -> EmailMessage:
    """Build a plain-text UTF-8 message.

    :param attachments: tuples of (filename, bytes, maintype, subtype).
    """
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = single_line(subject)  # a title with a CR/LF in it must not end the header
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="akims-exchange.local")
    message.set_content(body)
    for filename, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(message: EmailMessage) -> None:
    """Deliver ``message`` by SMTP, or write it to the outbox folder when no server is configured."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        return
    outbox = Path(config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    (outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(bytes(message))


def send_template(user, template: str, subject: str, attachments: tuple = (), **context) -> EmailMessage:
    """Render ``templates/email/<template>.txt`` in ``user``'s language and send it.

    :param subject: a lazy string (``lazy_gettext``), resolved in the user's language.
    :param attachments: as for :func:`build_message`.
    """
    with force_locale(user.preferred_language):
        body = render_template(f"email/{template}.txt", user=user, **context)
        message = build_message(user.email, str(subject), body, attachments)
    send(message)
    return message
