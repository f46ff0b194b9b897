"""Work orders come in a later issue; the database exists with the shared tables."""

from servicekit.db import make_base

Base = make_base()
