"""The best age the registry's events told of each resident (resident.known_age, known_age_on,
known_age_exact: exact after an age milestone), for the "4050" group (DR-6).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident") as batch:
        batch.add_column(sa.Column("known_age", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("known_age_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("known_age_exact", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("resident") as batch:
        batch.drop_column("known_age_exact")
        batch.drop_column("known_age_on")
        batch.drop_column("known_age")
