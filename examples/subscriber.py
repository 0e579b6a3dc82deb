"""Subscribe to every Shequ event from the beginning (docs/subscribing.md). Needs confluent-kafka,
cloudevents, httpx and jsonschema; prints one JSON line per event read."""

import json
import os

import httpx
import jsonschema
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from confluent_kafka import Consumer

TOPICS = r"^(registry|casework|employment|eldercare|metrics)\..+\.events$"  # a regex: leading ^
schemas: dict[str, jsonschema.Draft202012Validator] = {}  # dataschema URL -> its validator
seen: set[str] = set()  # handled event ids; keep them in your database, in your transaction


def on_resident_registered(data: dict) -> str:
    return f"resident {data['resident_id']} in community {data['community_id']}"


HANDLERS = {"org.shequ.registry.resident.registered.v1": on_resident_registered}

consumer = Consumer(
    {
        "bootstrap.servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "group.id": os.environ.get("GROUP_ID", "integrator-example-subscriber"),
        "auto.offset.reset": "earliest",  # a new group starts at the beginning of every topic
        "enable.auto.commit": False,  # commit after handling: at least once
    }
)
consumer.subscribe([TOPICS])
while True:
    record = consumer.poll(1.0)
    if record is None or record.error():
        continue  # nothing yet, or a transient condition (e.g. the end of a partition)
    headers = {name: value for name, value in record.headers() or [] if value is not None}
    event = from_structured(KafkaMessage(headers, record.key(), record.value()), JSONFormat())
    url = event.get_dataschema()
    if url not in schemas:  # the payload's JSON Schema, fetched once per type
        schemas[url] = jsonschema.Draft202012Validator(httpx.get(url).raise_for_status().json())
    schemas[url].validate(event.get_data())  # raises on a payload that breaks its contract
    handler = HANDLERS.get(event.get_type())  # dispatch on the type; skip the unknown ones
    if event.get_id() not in seen:  # at least once: a redelivered event is skipped
        seen.add(event.get_id())
        note = handler(event.get_data()) if handler else "skipped"
        line = {"type": event.get_type(), "id": event.get_id(), "subject": event.get_subject()}
        print(json.dumps({**line, "note": note}), flush=True)
    consumer.commit(record, asynchronous=False)
