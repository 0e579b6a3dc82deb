"""Indicators and targets: richer area projection, area lineage, entity projection, measure ledger,
indicator snapshots, targets, their status per area, projection state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("area_projection") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(32), nullable=True))
        batch.add_column(sa.Column("household_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("retire_reason", sa.String(16), nullable=True))
        batch.add_column(sa.Column("successor_ids", sa.Text(), nullable=True))
        batch.create_index("ix_area_projection_parent_id", ["parent_id"])
    # areas projected before this revision: their parent is the next-to-last id of the path
    areas = sa.table(
        "area_projection", sa.column("area_id"), sa.column("path"), sa.column("parent_id")
    )
    connection = op.get_bind()
    for area_id, path in connection.execute(sa.select(areas.c.area_id, areas.c.path)).all():
        ids = [part for part in path.split("/") if part]
        if len(ids) > 1:
            connection.execute(
                areas.update().where(areas.c.area_id == area_id).values(parent_id=ids[-2])
            )
    op.create_table(
        "area_lineage",
        sa.Column("area_id", sa.String(32), nullable=False),
        sa.Column("predecessor_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "predecessor_id", name="pk_area_lineage"),
    )
    op.create_table(
        "entity_projection",
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(80), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_id", name="pk_entity_projection"),
    )
    op.create_table(
        "measure_ledger",
        sa.Column("area_id", sa.String(32), nullable=False),
        sa.Column("measure", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "measure", "day", name="pk_measure_ledger"),
    )
    op.create_table(
        "measure_definition",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_measure_definition"),
    )
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
    op.create_table(
        "target",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("indicator_id", sa.String(80), nullable=False),
        sa.Column("scope_area_id", sa.String(32), nullable=False),
        sa.Column("comparison", sa.String(2), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("source_plan", sa.String(300), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_target"),
    )
    op.create_table(
        "target_status",
        sa.Column("target_id", sa.String(80), nullable=False),
        sa.Column("area_id", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("forecast", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target_id", "area_id", name="pk_target_status"),
    )
    op.create_index("ix_target_status_area_id", "target_status", ["area_id"])
    state = op.create_table(
        "projection_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("events_applied", sa.BigInteger(), nullable=False),
        sa.Column("last_event_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_projection_state"),
    )
    op.bulk_insert(state, [{"id": 1, "revision": 0, "events_applied": 0}])


def downgrade() -> None:
    op.drop_table("projection_state")
    op.drop_index("ix_target_status_area_id", table_name="target_status")
    op.drop_table("target_status")
    op.drop_table("target")
    op.drop_table("indicator_snapshot")
    op.drop_table("measure_definition")
    op.drop_table("measure_ledger")
    op.drop_table("entity_projection")
    op.drop_table("area_lineage")
    with op.batch_alter_table("area_projection") as batch:
        batch.drop_index("ix_area_projection_parent_id")
        for column in (
            "successor_ids",
            "retire_reason",
            "valid_to",
            "valid_from",
            "household_count",
            "kind",
            "parent_id",
        ):
            batch.drop_column(column)
