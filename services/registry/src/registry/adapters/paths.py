"""Area paths, the one place that knows how they are stored.

A path is the ids from the city down to an area (``("140500", "140502", "140502001")``); it is
stored as ``/140500/140502/140502001/`` in ``area.path`` and in the ``path``/``community_path``
column of every record attached to a community, so an area's subtree is every row whose
stored path starts with the area's: one prefix match on an indexed column, no join. A path
never changes (merges and splits create new areas), so copies never go stale.

The helpers are the platform's (:mod:`shared.paths`); this module names them for the
service's adapters."""

from shared.paths import in_subtree, path_ids, path_text

__all__ = ["in_subtree", "path_ids", "path_text"]
