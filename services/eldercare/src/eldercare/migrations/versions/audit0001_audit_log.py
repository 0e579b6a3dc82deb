"""The audit log of reads and changes of personal data (shared.audit), append-only.

A branch of its own (label ``audit``): it depends on no table of the service, so it never
competes with the service's numbered revisions; ``shared.migrations.upgrade`` goes to ``heads``.

Revision ID: audit0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from shared.migrations import create_audit_table, drop_audit_table

revision: str = "audit0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
