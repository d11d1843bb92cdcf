"""Django database backend: ``ENGINE = "pg_mint.django"``.

Django's PostgreSQL backend, with test databases made by pg_mint: the
template is migrated once per fingerprint of the migration files, and the
test database (and each ``--parallel`` worker's, and each pytest-django xdist
worker's) is a fresh ``mint.clone`` of it.  See docs/python.md.
"""
