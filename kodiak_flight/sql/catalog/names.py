"""Schema names the SQL layer reserves, and how names are normalised.

Names fold to lower case (the engine does the same for tables); the reserved schemas hold
state that is not the user's to change: the sessions' temporary tables, the read-only system
views, and the legacy catalog tables of data directories written before object catalogs.
"""

from __future__ import annotations

from ..audit import AUDIT_SCHEMA  # the audit log's table: append-only

DEFAULT_SCHEMA = "main"
# Temporary tables are engine tables named "<session tag>_<name>" in this schema; a session
# sees only its own (as ``name`` or ``temp.name``) and drops them when it closes.
TEMP_SCHEMA = "kodiak_temp"
SYSTEM_SCHEMA = "information_schema"  # read-only views of the catalog
LEGACY_SCHEMA = "kodiak_catalog"  # where views were kept as rows before format 2
RESERVED = frozenset({TEMP_SCHEMA, SYSTEM_SCHEMA, LEGACY_SCHEMA, AUDIT_SCHEMA, "temp"})


def fold(name: str) -> str:
    """The stored form of a name: lower case."""
    return name.lower()


def is_reserved(schema: str) -> bool:
    return fold(schema) in RESERVED
