"""Ledger lines of hardship medical subsidies: payments.case_id (unique, one line per casework
case) and payments.entitlement_id nullable (such a line pays no entitlement).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("case_id", sa.String(length=36), nullable=True))
        batch.alter_column("entitlement_id", existing_type=sa.String(length=36), nullable=True)
        batch.create_unique_constraint("uq_payments_case", ["case_id"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_case", type_="unique")
        batch.alter_column("entitlement_id", existing_type=sa.String(length=36), nullable=False)
        batch.drop_column("case_id")
