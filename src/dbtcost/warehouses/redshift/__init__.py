"""redshift: everything particular to it (see warehouses/__init__.py for the parts a folder may hold)."""
