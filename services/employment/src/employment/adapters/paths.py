"""Area paths as stored: ``/city/district/street/community/`` (a subtree is a prefix match).

The helpers are the platform's (:mod:`shared.paths`); this module names them for the
service's adapters."""

from shared.paths import in_subtree, path_ids, path_text

__all__ = ["in_subtree", "path_ids", "path_text"]
