"""The SQL layer's catalog: one resolver over the engine's tables and object catalog.

``names`` (reserved schemas), ``kinds`` (the registry of object kinds), ``views`` (the view
kind), ``resolver`` (what a name means), ``system`` (information_schema),
``activity_views`` (kodiak_queries, kodiak_sessions), ``audit_view`` (kodiak_audit), ``index_views`` (kodiak_indexes), ``job_views`` (kodiak_jobs), ``secrets_view``
(kodiak_secrets; the secret and keyring kinds), ``temp``
(temporary tables) and ``upgrade`` (legacy directories).
"""

from . import activity_views, audit_view, index_views, job_views, secrets_view, system
from .kinds import KINDS, ObjectKind, register, table_types
from .names import DEFAULT_SCHEMA, RESERVED, SYSTEM_SCHEMA, TEMP_SCHEMA, fold, is_reserved
from .resolver import Relation, Resolver
from .temp import drop_temp_tables
from .upgrade import upgrade_legacy_catalog
from .views import View, drop_view, find_view, put_view

__all__ = ["KINDS", "ObjectKind", "register", "table_types", "DEFAULT_SCHEMA", "RESERVED",
           "SYSTEM_SCHEMA", "TEMP_SCHEMA", "fold", "is_reserved", "Relation", "Resolver",
           "drop_temp_tables", "upgrade_legacy_catalog", "View", "drop_view",
           "find_view", "put_view", "system", "activity_views", "audit_view", "job_views",
           "secrets_view", "index_views"]
