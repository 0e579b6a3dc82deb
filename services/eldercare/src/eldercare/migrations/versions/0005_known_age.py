"""The best age the registry's events told of each resident (elders.known_age, known_age_on,
known_age_exact: exact after an age milestone), for exact-age rules (DR-6).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("elders") as batch:
        batch.add_column(sa.Column("known_age", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("known_age_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("known_age_exact", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("elders") as batch:
        batch.drop_column("known_age_exact")
        batch.drop_column("known_age_on")
        batch.drop_column("known_age")
