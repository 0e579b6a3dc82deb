"""Event contracts of the whole platform.

``CONTRACTS`` holds every event type any Shequ service publishes; each producing service's
payload models live in the module named after it (``shared.contracts.registry`` …), so
consumers and integrators depend on the contracts, not on the producer's code.
"""

from shared.contracts.core import (
    ContractRegistry,
    EventContract,
    EventPayload,
    UnknownEventType,
)
from shared.contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent

CONTRACTS = ContractRegistry()

# Importing the modules registers their contracts in CONTRACTS.
from shared.contracts import casework as _casework  # noqa: E402,F401
from shared.contracts import eldercare as _eldercare  # noqa: E402,F401
from shared.contracts import employment as _employment  # noqa: E402,F401
from shared.contracts import metrics as _metrics  # noqa: E402,F401
from shared.contracts import registry as _registry  # noqa: E402,F401

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "CONTRACTS",
    "CloudEvent",
    "ContractRegistry",
    "EventContract",
    "EventPayload",
    "UnknownEventType",
]
