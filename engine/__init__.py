"""Kodiak's storage and execution engine: WAL, Feather segments, B+ and B^ε trees, snapshots.

Embeddable on its own; knows nothing of SQL text or Flight. See docs/engine-api.md.
"""

from . import errors, predicate
from .backup import restore
from .database import Database
from .fileio import FileSystem
from .predicate import col
from .snapshot import IndexInfo, ObjectInfo, Snapshot, StorageInfo, TableInfo
from .stats import EngineStats
from .transaction import Transaction

__all__ = ["Database", "Snapshot", "Transaction", "TableInfo", "IndexInfo", "ObjectInfo",
           "StorageInfo", "EngineStats", "FileSystem", "errors", "predicate", "col", "restore"]
