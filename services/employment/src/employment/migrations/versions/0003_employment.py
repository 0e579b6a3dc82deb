"""Employment tables: registry facts (areas, residents), seekers, employers, vacancies, the
matching indexes, quotas, matches, courses, enrolments, attendance, placements, retention
checks, loans, instalments, repayments.

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
        "area",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
    )
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_area_path"), ["path"], unique=False)

    op.create_table(
        "course",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
    )
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_ends_on"), ["ends_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_course_path"), ["path"], unique=False)

    op.create_table(
        "employer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("training_partner", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer")),
    )
    with op.batch_alter_table("employer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employer_path"), ["path"], unique=False)

    op.create_table(
        "resident",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("employment_status", sa.String(length=32), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("registration", sa.String(length=16), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
    )
    op.create_table(
        "seeker",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resident_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("derived_groups", sa.JSON(), nullable=False),
        sa.Column("recorded_groups", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("education", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("max_hours_per_week", sa.Integer(), nullable=False),
        sa.Column("wage_expectation_fen", sa.BigInteger(), nullable=True),
        sa.Column("preferred_area_ids", sa.JSON(), nullable=False),
        sa.Column("preferred_paths", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("card", sa.String(length=16), nullable=False),
        sa.Column("card_changed_on", sa.Date(), nullable=True),
        sa.Column("card_revocation", sa.String(length=40), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seeker")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_seeker_resident_id")),
    )
    with op.batch_alter_table("seeker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seeker_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_seeker_status"), ["status"], unique=False)

    op.create_table(
        "welfare_quota",
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_welfare_quota")),
    )
    op.create_table(
        "enrolment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("course_id", sa.String(length=36), nullable=False),
        sa.Column("seeker_id", sa.String(length=36), nullable=False),
        sa.Column("seeker_path", sa.String(length=200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sessions_attended", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_enrolment_course_id_course")
        ),
        sa.ForeignKeyConstraint(
            ["seeker_id"], ["seeker.id"], name=op.f("fk_enrolment_seeker_id_seeker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolment_seeker_id"), ["seeker_id"], unique=False)

    op.create_table(
        "loan",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seeker_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("guarantee", sa.String(length=32), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("arrears_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seeker_id"], ["seeker.id"], name=op.f("fk_loan_seeker_id_seeker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan")),
    )
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_seeker_id"), ["seeker_id"], unique=False)
        batch_op.create_index("ix_loan_status", ["status"], unique=False)

    op.create_table(
        "seeker_skill",
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("seeker_id", sa.String(length=36), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("hours_mask", sa.Integer(), nullable=False),
        sa.Column("max_hours", sa.Integer(), nullable=False),
        sa.Column("wage_fen", sa.BigInteger(), nullable=True),
        sa.Column("preferred", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["seeker_id"],
            ["seeker.id"],
            name=op.f("fk_seeker_skill_seeker_id_seeker"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill", "seeker_id", name=op.f("pk_seeker_skill")),
    )
    with op.batch_alter_table("seeker_skill", schema=None) as batch_op:
        batch_op.create_index("ix_seeker_skill_seeker", ["seeker_id"], unique=False)

    op.create_table(
        "vacancy",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("employer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("nice_skills", sa.JSON(), nullable=False),
        sa.Column("hours", sa.String(length=16), nullable=False),
        sa.Column("hours_per_week", sa.Integer(), nullable=False),
        sa.Column("wage_fen", sa.BigInteger(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("max_tenure_months", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("training_partner", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name=op.f("fk_vacancy_employer_id_employer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancy")),
    )
    with op.batch_alter_table("vacancy", schema=None) as batch_op:
        batch_op.create_index("ix_vacancy_changed", ["changed_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vacancy_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vacancy_employer_id"), ["employer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vacancy_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_vacancy_status"), ["status"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("enrolment_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_attendance_enrolment_id_enrolment")
        ),
        sa.PrimaryKeyConstraint("enrolment_id", "day", name=op.f("pk_attendance")),
    )
    op.create_table(
        "loan_instalment",
        sa.Column("loan_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_instalment_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("loan_id", "number", name=op.f("pk_loan_instalment")),
    )
    op.create_table(
        "loan_repayment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=36), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_repayment_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_repayment")),
    )
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_repayment_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "match",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vacancy_id", sa.String(length=36), nullable=False),
        sa.Column("seeker_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("seeker_path", sa.String(length=200), nullable=False),
        sa.Column("vacancy_kind", sa.String(length=32), nullable=False),
        sa.Column("priority_groups", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("missing_required", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("declined_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seeker_id"], ["seeker.id"], name=op.f("fk_match_seeker_id_seeker")
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"], ["vacancy.id"], name=op.f("fk_match_vacancy_id_vacancy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match")),
    )
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.create_index("ix_match_pair", ["vacancy_id", "seeker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_match_seeker_id"), ["seeker_id"], unique=False)

    op.create_table(
        "vacancy_skill",
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("vacancy_id", sa.String(length=36), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("required_count", sa.Integer(), nullable=False),
        sa.Column("nice_count", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("hours_mask", sa.Integer(), nullable=False),
        sa.Column("hours_per_week", sa.Integer(), nullable=False),
        sa.Column("wage_fen", sa.BigInteger(), nullable=False),
        sa.Column("training_partner", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancy.id"],
            name=op.f("fk_vacancy_skill_vacancy_id_vacancy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill", "vacancy_id", name=op.f("pk_vacancy_skill")),
    )
    with op.batch_alter_table("vacancy_skill", schema=None) as batch_op:
        batch_op.create_index("ix_vacancy_skill_vacancy", ["vacancy_id"], unique=False)

    op.create_table(
        "placement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("match_id", sa.String(length=36), nullable=False),
        sa.Column("seeker_id", sa.String(length=36), nullable=False),
        sa.Column("vacancy_id", sa.String(length=36), nullable=False),
        sa.Column("employer_id", sa.String(length=36), nullable=False),
        sa.Column("vacancy_kind", sa.String(length=32), nullable=False),
        sa.Column("vacancy_community_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("priority_groups", sa.JSON(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reemployed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["match_id"], ["match.id"], name=op.f("fk_placement_match_id_match")
        ),
        sa.ForeignKeyConstraint(
            ["seeker_id"], ["seeker.id"], name=op.f("fk_placement_seeker_id_seeker")
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"], ["vacancy.id"], name=op.f("fk_placement_vacancy_id_vacancy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
        sa.UniqueConstraint("match_id", name=op.f("uq_placement_match_id")),
    )
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placement_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_placement_seeker_id"), ["seeker_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_placement_vacancy_community_id"), ["vacancy_community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_placement_vacancy_id"), ["vacancy_id"], unique=False)

    op.create_table(
        "retention_check",
        sa.Column("placement_id", sa.String(length=36), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placement.id"],
            name=op.f("fk_retention_check_placement_id_placement"),
        ),
        sa.PrimaryKeyConstraint("placement_id", "months", name=op.f("pk_retention_check")),
    )
    with op.batch_alter_table("retention_check", schema=None) as batch_op:
        batch_op.create_index("ix_retention_check_due", ["status", "due_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retention_check", schema=None) as batch_op:
        batch_op.drop_index("ix_retention_check_due")

    op.drop_table("retention_check")
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placement_vacancy_id"))
        batch_op.drop_index(batch_op.f("ix_placement_vacancy_community_id"))
        batch_op.drop_index(batch_op.f("ix_placement_seeker_id"))
        batch_op.drop_index(batch_op.f("ix_placement_path"))

    op.drop_table("placement")
    with op.batch_alter_table("vacancy_skill", schema=None) as batch_op:
        batch_op.drop_index("ix_vacancy_skill_vacancy")

    op.drop_table("vacancy_skill")
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_seeker_id"))
        batch_op.drop_index("ix_match_pair")

    op.drop_table("match")
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_repayment_loan_id"))

    op.drop_table("loan_repayment")
    op.drop_table("loan_instalment")
    op.drop_table("attendance")
    with op.batch_alter_table("vacancy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vacancy_status"))
        batch_op.drop_index(batch_op.f("ix_vacancy_path"))
        batch_op.drop_index(batch_op.f("ix_vacancy_employer_id"))
        batch_op.drop_index(batch_op.f("ix_vacancy_community_id"))
        batch_op.drop_index("ix_vacancy_changed")

    op.drop_table("vacancy")
    with op.batch_alter_table("seeker_skill", schema=None) as batch_op:
        batch_op.drop_index("ix_seeker_skill_seeker")

    op.drop_table("seeker_skill")
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_status")
        batch_op.drop_index(batch_op.f("ix_loan_seeker_id"))
        batch_op.drop_index(batch_op.f("ix_loan_path"))

    op.drop_table("loan")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_seeker_id"))
        batch_op.drop_index(batch_op.f("ix_enrolment_course_id"))

    op.drop_table("enrolment")
    op.drop_table("welfare_quota")
    with op.batch_alter_table("seeker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seeker_status"))
        batch_op.drop_index(batch_op.f("ix_seeker_path"))

    op.drop_table("seeker")
    op.drop_table("resident")
    with op.batch_alter_table("employer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_path"))

    op.drop_table("employer")
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_path"))
        batch_op.drop_index(batch_op.f("ix_course_ends_on"))

    op.drop_table("course")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_area_path"))

    op.drop_table("area")
