"""Area paths: one stored form and the two area conditions every service filters with."""

from __future__ import annotations

from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.paths import in_subtree, passes_through, path_ids, path_text


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "row"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    path: Mapped[str] = mapped_column(String)


def _matching(condition: object) -> list[str]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            _Row(id=name, path=path_text(ids))
            for name, ids in {
                "city": ["140500"],
                "district": ["140500", "140502"],
                "community": ["140500", "140502", "140502001"],
                "other": ["140500", "140581", "140581001"],
                "lookalike": ["140500", "1405021"],
            }.items()
        )
        session.flush()
        query = select(_Row.id).where(condition).order_by(_Row.id)  # type: ignore[arg-type]
        return list(session.scalars(query))


def test_a_path_round_trips_through_its_stored_form() -> None:
    assert path_text(["140500", "140502"]) == "/140500/140502/"
    assert path_ids("/140500/140502/") == ("140500", "140502")


def test_a_subtree_is_a_prefix_and_an_area_a_contained_id() -> None:
    assert _matching(in_subtree(_Row.path, "/140500/140502/")) == ["community", "district"]
    assert _matching(passes_through(_Row.path, "140502")) == ["community", "district"]
    assert _matching(passes_through(_Row.path, "140502", None, "140502001")) == ["community"]
    assert len(_matching(passes_through(_Row.path))) == 5
    assert len(_matching(in_subtree(_Row.path, None))) == 5
