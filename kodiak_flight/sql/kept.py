"""What a session keeps for reuse while the catalog key it was made under holds: prepared
statements by their text (``Session.prepare``, ``Session.execute``) and query shapes
(``shapes``). Past ``size`` entries the least recently used goes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class Kept:
    """Values by key, each valid for the catalog key (``version``) it was put under."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable, version: Any) -> Any:
        """The value kept under ``key`` at ``version``, else None."""
        hit = self._kept.get(key)
        if hit is None or hit[0] != version:
            return None
        self._kept.move_to_end(key)
        return hit[1]

    def put(self, key: Hashable, version: Any, value: Any) -> None:
        self._kept[key] = (version, value)
        self._kept.move_to_end(key)
        if len(self._kept) > self.size:
            self._kept.popitem(last=False)
