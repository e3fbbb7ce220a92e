"""Load the 20 regions, 227 districts and cities, and their akimats (reference data).

Data migration: calls the idempotent loader with the data files in app/regions/data, so that
``flask db upgrade`` alone gives a working instance (CONTRACTS.md §5). Later changes to those files are
applied with ``flask regions sync`` or a new data migration.

Revision ID: 5a1f0c3d9b2e
Revises: e2c27231861b
Create Date: 2026-11-23 06:30:00

"""

import sqlalchemy as sa
from alembic import op

from app.regions.services import sync_reference_data

revision = "5a1f0c3d9b2e"
down_revision = "e2c27231861b"
branch_labels = None
depends_on = None


def upgrade():
    sync_reference_data(op.get_bind())


def downgrade():
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE \"user\" SET akimat_id = NULL, claimed_akimat_id = NULL"))
    bind.execute(sa.text("DELETE FROM akimat"))
    bind.execute(sa.text("DELETE FROM municipality"))
    bind.execute(sa.text("DELETE FROM region"))
