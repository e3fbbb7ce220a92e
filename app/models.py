"""Every model of every feature, imported in one place for Alembic and ``flask shell``."""

from app.audit.models import AuditEntry
from app.auth.models import User
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region

__all__ = ["Akimat", "AuditEntry", "Municipality", "Region", "User"]
