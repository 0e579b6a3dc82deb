"""The table of import jobs: an import that runs in the background, its progress and report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.base import Base


class ImportJobRow(Base):
    """One import job: who started it (subject and area), its state and counts so far, and
    the rejected rows (JSON) once done."""

    __tablename__ = "import_job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    record_type: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(32))
    area_path: Mapped[str] = mapped_column(String(200))
    accepted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    rejected_rows: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
