"""Kodiak's benchmarks: each one measures Kodiak and a peer in the same run and reports ratios.

Absolute times drift between runs and machines, so every figure that decides PASS or MISS is
a ratio against a peer (SQLite, a plain Feather write, a full scan) measured moments apart in
the same process; the one absolute bar (bulk load of at least 1 M rows/s) is reported next to
its peer ratio. Run ``python -m bench`` (all benchmarks), ``python -m bench engine`` (the
storage-engine group), ``python -m bench point_lookup`` (one), ``--quick`` for small sizes.
See docs/performance.md for the latest results and how to read them.
"""
