"""data migration: the built-in roles

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

roles = sa.table("roles", sa.column("name", sa.String))


def upgrade():
    op.bulk_insert(roles, [{"name": "admin"}, {"name": "member"}, {"name": "viewer"}])


def downgrade():
    op.execute(roles.delete())
