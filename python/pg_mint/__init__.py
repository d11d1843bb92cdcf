"""pg_mint for Python: a pytest plugin (``pg_mint.plugin``, registered as
``pytest11`` entry point) and a Django database backend (``ENGINE =
"pg_mint.django"``) on top of the pg_mint PostgreSQL extension.

Library use::

    from pg_mint import Mint
    with Mint("dbname=postgres") as m:
        if m.template_begin("app_tpl", fingerprint) == "build":
            ...  # build the schema in app_tpl
            m.template_finish("app_tpl")
        m.clone("app_tpl", m.worker_name("app_test", "gw0"), fingerprint)
"""
from .core import Mint, MintError, run_identity
from .fingerprint import fingerprint_files
from .urls import database_of, redact, to_libpq, with_database

__version__ = "1.0.0"
__all__ = ["Mint", "MintError", "run_identity", "fingerprint_files", "database_of", "redact",
           "to_libpq", "with_database", "__version__"]
