"""Test databases for Django from pg_mint templates.

``create_test_db`` (Django's test runner, pytest-django's ``django_db_setup``):

1. fingerprint = SHA-256 of every installed app's migration files (the
   models module of apps without migrations, since ``migrate --run-syncdb``
   creates their tables from it), the app labels, Django's version, and
   ``TEST["MINT_FINGERPRINT"]`` (extra paths or strings);
2. ``mint.template_begin(template, fingerprint)``: when the answer is
   ``build``, this process runs ``migrate`` (and ``createcachetable``) in the
   template, then ``mint.template_finish``; every other process waits and
   gets ``ready``;
3. ``mint.clone(template, test database name)``: a fresh copy, replacing
   whatever an earlier run left under that name (no "database already
   exists" prompt, no stale schema after a migration changed).

``--parallel N`` clones the template once per worker (names from
``mint.worker_name(test name, N)``) instead of copying the test database;
the test databases are dropped with ``mint.drop`` (kept with ``--keepdb``,
but every run starts from a fresh clone anyway).

Settings (all optional), in ``DATABASES[alias]["TEST"]``:
``MINT_TEMPLATE`` (default ``<test database name>_tpl``),
``MINT_FINGERPRINT`` (list of paths or globs relative to BASE_DIR/cwd, or
strings prefixed with ``=``), ``MINT_MAINTENANCE`` (database name or URL where
the extension is installed, default ``postgres``), ``MINT_POOL`` (warm pool
size).
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import Any, Dict, List, Optional

from django.apps import apps
from django.conf import settings
from django.db.backends.postgresql.creation import DatabaseCreation as PostgresDatabaseCreation

from ..core import Mint, MintError, run_identity
from ..fingerprint import expand_inputs, fingerprint_files
from ..prepare import Events
from ..urls import make_conninfo, to_libpq


class DatabaseCreation(PostgresDatabaseCreation):
    _mint: Optional[Mint] = None
    _clone_names: Dict[str, str] = {}

    # ---- settings ---------------------------------------------------------------
    def _test_settings(self) -> Dict[str, Any]:
        return self.connection.settings_dict.get("TEST") or {}

    def _base_test_name(self) -> str:
        """The test database name before pytest-django's xdist suffix."""
        name = self._get_test_db_name()
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker and name.endswith("_" + worker):
            name = name[: -len(worker) - 1]
        return name

    def _template(self) -> str:
        # fixed by create_test_db: afterwards NAME is the test database's
        tpl = getattr(self, "_tpl", None)
        if tpl is None:
            tpl = self._test_settings().get("MINT_TEMPLATE") or self._base_test_name() + "_tpl"
            self._tpl = tpl
        return tpl

    def _maintenance(self) -> Mint:
        if self._mint is not None:
            return self._mint.connect()
        target = self._test_settings().get("MINT_MAINTENANCE") or os.environ.get("PG_MINT_MAINTENANCE_URL") or "postgres"
        if "://" in target or "=" in target:
            conninfo, display = to_libpq(target)[0], target
        else:
            params = self.connection.get_connection_params()
            kw: Dict[str, str] = {}
            for k, v in params.items():
                if v in (None, "") or k in ("cursor_factory", "isolation_level"):
                    continue
                if k == "database":
                    continue
                kw[k] = str(v)
            kw["dbname"] = target
            conninfo = make_conninfo(kw)
            shown = dict(kw, password="xxxxx") if "password" in kw else kw
            display = make_conninfo(shown)
        self._mint = Mint(conninfo, display=display, run=run_identity(),
                          application_name="pg_mint django")
        return self._mint.connect()

    def fingerprint(self) -> str:
        """What decides whether the template is still good (see the module doc)."""
        from django.db.migrations.loader import MigrationLoader
        import django

        h = hashlib.sha256()
        parts: List[str] = ["django " + django.get_version()]
        for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
            module_name, _ = MigrationLoader.migrations_module(app.label)
            paths: List[str] = []
            if module_name:
                try:
                    mod = __import__(module_name, fromlist=["__path__"])
                    paths = list(getattr(mod, "__path__", []))
                except ImportError:
                    paths = []
            if not paths:  # no migrations: migrate --run-syncdb uses the models
                models = getattr(app, "models_module", None)
                f = getattr(models, "__file__", None)
                paths = [os.path.dirname(f)] if f and f.endswith("__init__.py") else ([f] if f else [])
                kind = "syncdb"
            else:
                kind = "migrations"
            parts.append("%s %s %s" % (app.label, kind, fingerprint_files(paths) if paths else "-"))
        base = str(getattr(settings, "BASE_DIR", "") or os.getcwd())
        for item in self._test_settings().get("MINT_FINGERPRINT") or []:
            if item.startswith("="):
                parts.append(item[1:])
            else:
                parts.append("%s %s" % (item, fingerprint_files(expand_inputs([item], base))))
        if self._test_settings().get("MIGRATE") is False:
            parts.append("MIGRATE=False")
        h.update("\n".join(parts).encode())
        return h.hexdigest()

    # ---- Django's hooks -----------------------------------------------------------
    def create_test_db(self, verbosity: int = 1, autoclobber: bool = False, serialize: bool = True,
                       keepdb: bool = False) -> str:
        from django.core.management import call_command

        test_name = self._get_test_db_name()
        template = self._template()
        events = Events(os.environ.get("PG_MINT_EVENTS"))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        mint = self._maintenance()
        mint.check_extension()
        mint.check_createdb()
        fp = self.fingerprint()
        if verbosity >= 1:
            self.log("Creating test database for alias %s from pg_mint template %s..."
                     % (self._get_database_display_str(verbosity, test_name), template))
        t0 = time.monotonic()
        state = mint.template_begin(template, fp)
        events(event="begin", worker=worker, template=template, fingerprint=fp, result=state,
               seconds=time.monotonic() - t0, framework="django")
        if state == "build":
            try:
                self._build_template(template, verbosity, call_command)
            except BaseException:
                mint.template_abort(template)
                events(event="abort", worker=worker, template=template)
                raise
            built = time.time()
            mint.template_finish(template)
            events(event="finish", worker=worker, template=template, fingerprint=fp, built=built)
        pool = self._test_settings().get("MINT_POOL")
        if pool is not None:
            mint.set_pool(template, int(pool))
        t0 = time.monotonic()
        mint.clone(template, test_name, fp)
        events(event="clone", worker=worker, template=template, database=test_name, fingerprint=fp,
               seconds=time.monotonic() - t0)
        self._fp = fp

        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = test_name
        self.connection.settings_dict["NAME"] = test_name
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        self.connection.ensure_connection()
        return test_name

    def _build_template(self, template: str, verbosity: int, call_command: Any) -> None:
        alias = self.connection.alias
        old_name = self.connection.settings_dict["NAME"]
        old_setting = settings.DATABASES[alias]["NAME"]
        migrate = self._test_settings().get("MIGRATE", True)
        old_modules = settings.MIGRATION_MODULES
        self.connection.close()
        settings.DATABASES[alias]["NAME"] = template
        self.connection.settings_dict["NAME"] = template
        try:
            if migrate is False:
                settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
            call_command("migrate", verbosity=max(verbosity - 1, 0), interactive=False,
                         database=alias, run_syncdb=True)
            call_command("createcachetable", database=alias)
        finally:
            settings.MIGRATION_MODULES = old_modules
            # no connection may stay on a template
            self.connection.close()
            settings.DATABASES[alias]["NAME"] = old_setting
            self.connection.settings_dict["NAME"] = old_name

    def get_test_db_clone_settings(self, suffix: str) -> Dict[str, Any]:
        orig = self.connection.settings_dict
        name = self._clone_names.get(suffix)
        if name is None:
            name = self._maintenance().worker_name(orig["NAME"], str(suffix), "")
            self._clone_names[suffix] = name
        return {**orig, "NAME": name}

    def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = False) -> None:
        target = self.get_test_db_clone_settings(suffix)["NAME"]
        template = self._template()
        mint = self._maintenance()
        t0 = time.monotonic()
        mint.clone(template, target, getattr(self, "_fp", None) or self.fingerprint())
        Events(os.environ.get("PG_MINT_EVENTS"))(
            event="clone", worker=str(suffix), template=template, database=target,
            seconds=time.monotonic() - t0, framework="django")
        if verbosity >= 2:
            self.log("Cloned pg_mint template %s into %s" % (template, target))

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        try:
            self._maintenance().drop(test_database_name)
        except MintError as e:
            if verbosity >= 1:
                self.log("%s (pg_mint gc removes it later)" % e)
        finally:
            if self._mint is not None:
                self._mint.close()
                self._mint = None
