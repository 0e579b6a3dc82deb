"""held_age: an age milestone of a resident the service has no state of yet, held until the
first state arrives (shared.ages, DR-6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_age",
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("age_on", sa.Date(), nullable=False),
        sa.Column("exact", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name="pk_held_age"),
    )


def downgrade() -> None:
    op.drop_table("held_age")
