"""Access control: users' rights on tables, schemas, functions, secrets and the database.

``model`` (roles and grants as engine objects), ``rights`` (the checker, cached per catalog
version), ``syntax`` (the statements' grammar), ``users`` (the user directory interface),
``files`` (server-side files by role). Statement text with passwords is masked where it is
kept (``activity.shown_text``). The statements are in
``statements/access.py``; the checks are made where names are bound (``binder.Context``).
"""

from .files import guarded_files
from .model import ADMIN, BUILTIN_ROLES, READ_FILES, SUPERUSER, WRITE_FILES
from .policies import Policy, policies_on, secured
from .rights import EVERYTHING, Rights, definer_rights, rights_for
from .tables import table_dropped, table_renamed
from .users import UserDirectory

__all__ = ["ADMIN", "BUILTIN_ROLES", "EVERYTHING", "READ_FILES", "Rights", "SUPERUSER",
           "Policy", "UserDirectory", "WRITE_FILES", "policies_on", "secured", "table_dropped", "table_renamed", "definer_rights", "guarded_files", "rights_for"]
