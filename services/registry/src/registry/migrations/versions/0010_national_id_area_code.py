"""Residents: the national id number's address code beside the encrypted number.

The 6-digit address code is all a masked number shows, so a masked read draws the mask from
it instead of decrypting. Rows stored before it are filled at the service's next start
(:func:`registry.reencryption.fill_area_codes`, which needs the PII key the migration has
not); until then their masks are drawn from the decrypted number as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("resident", sa.Column("national_id_area_code", sa.String(6), nullable=True))


def downgrade() -> None:
    op.drop_column("resident", "national_id_area_code")
