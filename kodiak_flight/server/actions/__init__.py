"""Flight actions (DoAction), each a handler registered by name in :data:`ACTIONS`.

To add one, write a function ``(server, context, client, body) -> list[bytes]`` decorated
with ``@action(name, description)`` in the module for its group (or in a new module imported
here); ``do_action`` finds it by name and ``list_actions`` lists it.
"""

# Each module registers its actions when imported: this order is ListActions' order.
# isort: off
from . import prepared, transactions, cancel, session_options, admin, health, activity
# isort: on
from .registry import ACTIONS, Action, Handler, action, listed

__all__ = ["ACTIONS", "Action", "Handler", "action", "activity", "admin", "cancel", "health", "listed", "prepared",
           "session_options", "transactions"]
