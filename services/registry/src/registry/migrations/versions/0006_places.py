"""Facilities, community workers, organisations, volunteers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AREA_M2 = sa.Numeric(9, 2, asdecimal=False)
HOURS = sa.Numeric(4, 2, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "facility",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_facility"),
    )
    op.create_index("ix_facility_community_id", "facility", ["community_id"])
    op.create_index("ix_facility_path", "facility", ["path"])
    op.create_index("ix_facility_kind", "facility", ["kind"])
    op.create_index("ix_facility_closed_on", "facility", ["closed_on"])

    op.create_table(
        "facility_room",
        sa.Column("facility_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("area_m2", AREA_M2, nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name="fk_facility_room_facility_id_facility",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("facility_id", "purpose", name="pk_facility_room"),
    )

    op.create_table(
        "community_worker",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("appointment", sa.String(16), nullable=False),
        sa.Column("education", sa.String(16), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("cross_appointed", sa.Boolean(), nullable=False),
        sa.Column("appointed_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_community_worker"),
    )
    op.create_index("ix_community_worker_community_id", "community_worker", ["community_id"])
    op.create_index("ix_community_worker_path", "community_worker", ["path"])
    op.create_index("ix_community_worker_role", "community_worker", ["role"])
    op.create_index("ix_community_worker_left_on", "community_worker", ["left_on"])

    op.create_table(
        "social_organisation",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_social_organisation"),
    )
    op.create_index("ix_social_organisation_community_id", "social_organisation", ["community_id"])
    op.create_index("ix_social_organisation_path", "social_organisation", ["path"])
    op.create_index("ix_social_organisation_kind", "social_organisation", ["kind"])

    op.create_table(
        "volunteer",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=True),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["social_organisation.id"],
            name="fk_volunteer_organisation_id_social_organisation",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_volunteer"),
    )
    op.create_index("ix_volunteer_community_id", "volunteer", ["community_id"])
    op.create_index("ix_volunteer_path", "volunteer", ["path"])
    op.create_index("ix_volunteer_resident_id", "volunteer", ["resident_id"])
    op.create_index("ix_volunteer_organisation_id", "volunteer", ["organisation_id"])

    op.create_table(
        "volunteer_hours",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("volunteer_id", sa.String(36), nullable=False),
        sa.Column("hours", HOURS, nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
            name="fk_volunteer_hours_volunteer_id_volunteer",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_volunteer_hours"),
    )
    op.create_index("ix_volunteer_hours_volunteer_id", "volunteer_hours", ["volunteer_id"])
    op.create_index("ix_volunteer_hours_served_on", "volunteer_hours", ["served_on"])


def downgrade() -> None:
    op.drop_table("volunteer_hours")
    op.drop_table("volunteer")
    op.drop_table("social_organisation")
    op.drop_table("community_worker")
    op.drop_table("facility_room")
    op.drop_table("facility")
