"""Triggers: ``syntax`` (CREATE/DROP/SHOW TRIGGERS read before sqlglot parses), ``model``
(trigger objects of kind ``trigger``, the ``kodiak_triggers`` view), ``body`` (a body
statement rewritten to run once over the transition rows), ``firing`` (the one hook every
write path goes through). Kept import-light: the dialect imports ``syntax``.
"""
