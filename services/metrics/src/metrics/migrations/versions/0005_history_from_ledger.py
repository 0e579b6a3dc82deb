"""History computed from the ledger (the materialised daily snapshots go); the figures each
forecast used, kept with the target's status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("indicator_snapshot")
    with op.batch_alter_table("target_status") as batch:
        batch.add_column(sa.Column("forecast_method", sa.String(16), nullable=True))
        batch.add_column(sa.Column("forecast_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("forecast_slope", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("target_status") as batch:
        batch.drop_column("forecast_slope")
        batch.drop_column("forecast_from")
        batch.drop_column("forecast_method")
    op.create_table(
        "indicator_snapshot",
        sa.Column("indicator_id", sa.String(80), nullable=False),
        sa.Column("area_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("indicator_id", "area_id", "day", name="pk_indicator_snapshot"),
    )
