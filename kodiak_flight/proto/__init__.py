"""Kodiak's Flight SQL protobuf classes, compiled from the ``.proto`` files here.

They live in a descriptor pool of their own, not protobuf's process-wide default pool: other
Flight SQL libraries (flightsql-dbapi, for one) register the same message names there under
other file names, and protobuf refuses a second definition of a name, so a program could not
import both. ``make proto`` rewrites the generated modules to use ``POOL``.
"""

from google.protobuf.descriptor_pool import DescriptorPool

POOL = DescriptorPool()
