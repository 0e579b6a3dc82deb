"""Shequ event contracts, as packaged in the ``shequ-contracts`` wheel.

This wheel holds only ``shared.contracts`` (the CloudEvents envelope, the contract registry
``CONTRACTS`` and every event's pydantic payload model) and ``shared.context`` (the correlation
ids an envelope carries), the same modules the Shequ services import; it has no server code.
"""
