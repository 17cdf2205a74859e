"""A sqllogictest runner for Kodiak (SQLite's format and corpus; see ``parser``)."""
