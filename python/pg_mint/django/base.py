"""``ENGINE = "pg_mint.django"``: django.db.backends.postgresql with pg_mint's
test-database creation (creation.DatabaseCreation)."""
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from .creation import DatabaseCreation


class DatabaseWrapper(PostgresDatabaseWrapper):
    creation_class = DatabaseCreation
