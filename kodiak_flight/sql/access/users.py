"""Where CREATE USER, DROP USER and ALTER USER ... PASSWORD write: a user directory the
embedding program hands the session (``Session(users=...)``).

The SQL layer never sees password hashes: the server passes its users file
(``kodiak_flight/users.py``, scrypt hashes) through this interface, and an embedded session
without one refuses the statements by name.
"""

from __future__ import annotations

from typing import Protocol


class UserDirectory(Protocol):
    def names(self) -> list[str]:
        """Every user that can log in."""

    def add(self, name: str, password: str) -> None:
        """A new user; an error naming it if it exists or the name is not allowed."""

    def remove(self, name: str) -> None: ...

    def set_password(self, name: str, password: str) -> None: ...
