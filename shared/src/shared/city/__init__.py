"""A synthetic city, deterministic and seeded, fed to the services through their public APIs.

:mod:`shared.city.plan` draws the city (areas, households, residents, facilities, workers,
organisations, volunteers, and what the other services will be asked to record) from a seed;
:mod:`shared.city.feed` sends it to running services over HTTP: the registry's bulk import
(``POST /imports``) first, then casework, employment and eldercare through their routes, so
every record flows as events into metrics. ``shequ city generate`` is the command line.
"""
