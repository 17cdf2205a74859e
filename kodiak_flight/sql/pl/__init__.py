"""PL-Grizzly's procedural side: user types, user functions, variables, scripts and blocks,
and background jobs. Each concern is one module here; statements that define or run them are
registered in ``sql/statements`` like every other statement."""
