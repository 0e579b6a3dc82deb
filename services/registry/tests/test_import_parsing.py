"""Safe import parsing: stray CSV quotes are rejected rows and parsing stays linear; oversized
lines, deep JSON and bad UTF-8 are rejected rows, never a 500; characters split across network
chunks are decoded whole."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from registry.importer import CsvRecords, Unreadable, text_lines

ADDRESS = "东城区东直门南大街1号"


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(data: bytes, size: int, **options: int) -> list[str | Unreadable]:
    return [line async for line in text_lines(chunked(data, size), **options)]


@pytest.mark.unit
async def test_characters_split_across_chunks_come_out_whole() -> None:
    data = f"{ADDRESS}\n{ADDRESS}".encode()
    for size in (1, 2, 5, 7):
        assert await collect(data, size) == [f"{ADDRESS}\n", ADDRESS]
    assert await collect(b"\xef\xbb\xbfid,name\n", 3) == ["id,name\n"]  # BOM dropped


@pytest.mark.unit
async def test_bad_utf8_and_long_lines_are_unreadable_lines() -> None:
    data = b"ok\n\xff\xfe broken\n" + b"x" * 100 + b"\nnext"
    assert await collect(data, 7, max_line_bytes=50) == [
        "ok\n",
        Unreadable("not valid UTF-8"),
        Unreadable("line longer than 50 bytes"),
        "next",
    ]


def rows_of(lines: list[str | Unreadable]) -> list[tuple[int, object]]:
    records = CsvRecords()
    rows = [row for line in lines for row in records.feed(line)]
    return rows + records.close()


@pytest.mark.unit
def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file() -> None:
    lines = ["ref,address\n", 'H-1,"1 Dongjie\n', "H-2,2 Xijie\n", 'H-3,"3 ""Nan""jie"\n']
    assert rows_of(lines) == [
        (2, 'unbalanced quote (")'),
        (3, {"ref": "H-2", "address": "2 Xijie"}),
        (4, {"ref": "H-3", "address": '3 "Nan"jie'}),
    ]
    spanning = ["ref,address\n", 'H-1,"1 Dongjie\n', 'Building 2"\n', "H-2,2 Xijie\n"]
    assert rows_of(spanning)[0] == (2, {"ref": "H-1", "address": "1 Dongjie\nBuilding 2"})
    assert rows_of(["ref,address\n", 'H-1,"1" Dongjie\n'])[0][1].startswith("not valid CSV")
    assert rows_of(["a\n", Unreadable("not valid UTF-8"), "b\n"]) == [
        (2, "not valid UTF-8"),
        (3, {"a": "b"}),
    ]


@pytest.mark.unit
def test_csv_parsing_is_linear_after_an_open_quote() -> None:
    def parse(first: str, count: int = 20_000) -> float:
        lines = ["ref,address\n", first] + [f"H-{n},{n} Xijie\n" for n in range(count)]
        started = time.perf_counter()
        rows = rows_of(lines)
        assert len(rows) == count + 1
        return time.perf_counter() - started

    plain = min(parse("H-0,plain\n") for _ in range(3))
    stray = min(parse('H-0,"open\n') for _ in range(3))
    assert stray < 3 * plain + 0.2  # re-reading the held lines once, not once per line


@pytest.mark.integration
async def test_hostile_rows_are_rejected_rows_never_a_500(
    client: httpx.AsyncClient, writer: dict[str, str], tree: None
) -> None:
    household = {
        "type": "household",
        "community_id": "m1",
        "address": ADDRESS,
        "registered_on": "2020-05-01",
    }
    body = (
        "\n".join(
            [
                json.dumps({**household, "ref": "H-1"}, ensure_ascii=False),
                "[" * 50_000,  # nested too deep for the JSON parser
                json.dumps({**household, "ref": "H-2", "community_id": "m" * 5_000}),
            ]
        ).encode()
        + b"\n\xff\xfe\n"
        + b"{"
        + b" " * 70_000
        + b"}\n"
    )
    response = await client.post("/imports", content=chunked(body, 5), headers=writer)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (1, 4)
    assert [row["line"] for row in report["rejected_rows"]] == [2, 3, 4, 5]
    listed = await client.get("/households", headers=writer)
    assert [item["address"] for item in listed.json()["items"]] == [ADDRESS]

    csv_body = (
        "ref,community_id,address,registered_on\n"
        f'H-3,m1,"{ADDRESS},2020-05-01\n'
        f"H-4,m1,{ADDRESS},2020-05-01\n"
    )
    response = await client.post(
        "/imports?format=csv&type=household", content=csv_body.encode(), headers=writer
    )
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["rejected_rows"][0] == {
        "line": 2,
        "field": None,
        "reason": 'unbalanced quote (")',
    }


@pytest.mark.unit
async def test_rows_imported_one_by_one_commit_in_small_batches() -> None:
    from registry.importer import _batches

    async def lines() -> AsyncIterator[str]:
        for n in range(250):
            yield json.dumps({"type": "facility", "ref": f"F-{n}"}) + "\n"
        for n in range(1500):
            yield json.dumps({"type": "household", "ref": f"H-{n}"}) + "\n"

    sizes = [
        len(batch) async for batch in _batches(lines(), fmt="ndjson", record_type=None, size=1000)
    ]
    assert sizes == [100, 100, 1000, 550]
