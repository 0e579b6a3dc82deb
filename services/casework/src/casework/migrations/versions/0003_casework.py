"""Casework: matter catalogue, calendar overrides, resident facts, visits and cases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matter",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_matter"),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_calendar_day"),
    )
    op.create_table(
        "resident_fact",
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("registration", sa.String(16), nullable=False),
        sa.Column("employment_status", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name="pk_resident_fact"),
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_visit"),
    )
    op.create_index("ix_visit_resident_id", "visit", ["resident_id"])
    op.create_index("ix_visit_path", "visit", ["path"])
    op.create_table(
        "case_file",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("visit_id", sa.String(36), nullable=False),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("code_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("code_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_file"),
        sa.UniqueConstraint("number", name="uq_case_file_number"),
    )
    for column in (
        "visit_id",
        "matter_code",
        "department",
        "resident_id",
        "path",
        "state",
        "due_on",
    ):
        op.create_index(f"ix_case_file_{column}", "case_file", [column])


def downgrade() -> None:
    op.drop_table("case_file")
    op.drop_table("visit")
    op.drop_table("resident_fact")
    op.drop_table("calendar_day")
    op.drop_table("matter")
