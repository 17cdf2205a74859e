"""Secrets: ``keyring`` (the database's data-encryption key, wrapped by the master key),
``store`` (secrets as encrypted engine objects; the lookup API: ``secret_for_path``,
``secret_by_name``), ``syntax`` (the statements' grammar), ``reveal`` (``secret('name')``).
The statements are ``statements/secret.py``; the ``kodiak_secrets`` view is
``catalog/secrets_view.py``."""
