"""``kodiak_secrets``: the secrets a session sees (``sql/secrets/store.py``), values never
shown: name, type, scope, owner, created, persistent and version. ``SHOW SECRETS`` answers
with the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from ..secrets import keyring, store
from .kinds import ObjectKind
from .kinds import register as register_kind
from .system import SystemView, ViewSchema, register

# both live in the reserved schema ``kodiak_system``, each in a namespace of its own
SECRET = register_kind(ObjectKind(store.SECRET_KIND, store.SECRET_KIND))
KEYRING = register_kind(ObjectKind(keyring.KEYRING_KIND, keyring.KEYRING_KIND))

SECRETS_SCHEMA = pa.schema([
    pa.field("name", pa.string()), pa.field("type", pa.string()),
    pa.field("scope", pa.list_(pa.string())), pa.field("owner", pa.string()),
    pa.field("created", pa.timestamp("s", tz="UTC")), pa.field("persistent", pa.bool_()),
    pa.field("version", pa.int64())])


def secret_rows(snap: Any, viewer: Any) -> list[dict[str, Any]]:
    return [{"name": s.name, "type": s.type, "scope": list(s.scope), "owner": s.owner,
             "created": dt.datetime.fromisoformat(s.created), "persistent": s.persistent,
             "version": s.version}
            for s in store.all_secrets(snap, getattr(viewer, "session", None))]


def _rows(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    return secret_rows(r.snap, r.viewer)


register(SystemView("kodiak_secrets", SECRETS_SCHEMA, _rows, volatile=True, unqualified=True))
