"""The metrics handler alone, by CPU time: where the time goes when the machine is busy.

``bench/metrics_ingest.py`` measures wall time through the broker, which on a shared two-core
machine moves with everyone else's load. This script applies the same city's events
(:func:`metrics_ingest.city_events`) straight through the consumer runtime's inbox step and
the metrics batch handler on a fresh PostgreSQL database, without a broker, and reports the
CPU time this process spends (``time.process_time``; PostgreSQL's own work is not in it):

    uv run --frozen python bench/metrics_handler_cpu.py [--mode ingest|replay] [--batch N]
        [--profile FILE]

``ingest`` evaluates the touched targets after every batch (the live consumer, batches of
``metrics.consumers.MAX_BATCH``); ``replay`` defers them to one evaluation of every target at
the end (``metrics.replay``, batches of 1,000). ``--profile`` writes the 60 functions with the
most cumulative CPU time (cProfile) to FILE as text
(``bench/results/metrics_handler_cpu_profile.txt`` holds one of an ingest).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

import metrics_ingest as bench

from metrics.adapters import events as metrics_events
from metrics.consumers import MAX_BATCH
from metrics.replay import BATCH as REPLAY_BATCH
from shared.consumer import ParsedEvent, record_and_apply
from shared.contracts import CONTRACTS
from shared.db import transaction
from shared.testing.postgres import create_database, drop_database
from shared.unit_of_work import unit_of_work


async def run(mode: str, batch: int, profiler: cProfile.Profile | None) -> None:
    """Apply the city's events in batches of ``batch``; print the wall and CPU seconds."""
    events = bench.envelopes(bench.city_events(160, 4000))
    parsed = [ParsedEvent(e, CONTRACTS.parse_payload(e)) for e in events]
    url = create_database("shequ_bench_metrics_cpu")
    try:
        service = await bench.Service(bench.service_settings(url, "127.0.0.1:1")).start()
        if mode == "replay":
            service.tracker.deferred, service.tracker.publish = True, False
        if profiler:
            profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(parsed), batch):
            async with transaction(service.sessions) as session:
                await record_and_apply(
                    session,
                    consumer="metrics",
                    subscription=service.subscription,
                    events=parsed[start : start + batch],
                )
        applied_wall, applied_cpu = time.perf_counter() - wall, time.process_time() - cpu
        cpu = time.process_time()
        if mode == "replay":
            async with unit_of_work(service.sessions, translate=metrics_events.translate) as uow:
                await service.tracker.evaluate_all(uow)
        final_cpu = time.process_time() - cpu
        if profiler:
            profiler.disable()
        await service.close()
    finally:
        drop_database(url)
    print(
        f"{mode}, {len(parsed):,} events in batches of {batch:,}: CPU {applied_cpu:.2f} s "
        f"({len(parsed) / applied_cpu:,.0f} events per CPU second), wall {applied_wall:.2f} s"
        + (f"; final evaluation of every target: CPU {final_cpu:.2f} s" if mode == "replay" else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=["ingest", "replay"], default="ingest")
    parser.add_argument("--batch", type=int, help="events per transaction (default: as live)")
    parser.add_argument("--profile", help="write the CPU profile's top functions to this file")
    args = parser.parse_args()
    batch = args.batch or (MAX_BATCH if args.mode == "ingest" else REPLAY_BATCH)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    asyncio.run(run(args.mode, batch, profiler))
    if profiler:
        with open(args.profile, "w") as file:
            pstats.Stats(profiler, stream=file).strip_dirs().sort_stats("cumulative").print_stats(
                60
            )


if __name__ == "__main__":
    main()
