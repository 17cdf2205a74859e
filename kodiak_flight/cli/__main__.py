"""``python -m kodiak_flight.cli``: the ``kodiak`` command."""

from . import main

main()
