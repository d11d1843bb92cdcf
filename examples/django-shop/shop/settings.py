"""A small shop: two apps (catalog, orders) with migrations, one of them a
data migration.  The database comes from the libpq variables (PGHOST, PGPORT,
PGUSER, PGPASSWORD) and SHOP_DB_NAME."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "catalog", "orders"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        # pg_mint: test databases are clones of a template migrated once per
        # set of migration files (was: django.db.backends.postgresql)
        "ENGINE": os.environ.get("SHOP_DB_ENGINE", "pg_mint.django"),
        "NAME": os.environ.get("SHOP_DB_NAME", "shop"),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }
}
