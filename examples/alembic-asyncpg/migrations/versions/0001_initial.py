"""initial schema

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("roles",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(40), nullable=False, unique=True))
    op.create_table("users",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("email", sa.String(200), nullable=False, unique=True),
                    sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id"), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                              server_default=sa.func.now()))
    op.create_table("notes",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
                    sa.Column("body", sa.Text, nullable=False))
    op.create_table("test_log",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("worker", sa.String(20), nullable=False),
                    sa.Column("test", sa.String(200), nullable=False),
                    sa.UniqueConstraint("worker", "test"))


def downgrade():
    for t in ("test_log", "notes", "users", "roles"):
        op.drop_table(t)
