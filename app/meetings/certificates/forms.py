"""The revoke / lift buttons (CSRF only)."""

from __future__ import annotations

from app.forms import Form


class CertificateActionForm(Form):
    """Revoke a certificate or lift its revocation: no fields but the CSRF token."""
