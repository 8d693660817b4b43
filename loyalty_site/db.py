"""The model bases moved to system/db.py; the landed migrations (history, left as they are) still name
these two by this path."""

from system.db import GenRandomUUID, SQLPredicate

__all__ = ["GenRandomUUID", "SQLPredicate"]
