"""pg_mint.urls and pg_mint.fingerprint against the pg_mint CLI, which
implements the same rules in C (cli/url.c, cli/fingerprint.c, cli/redact.c):
the plugin and a CI step using the CLI must agree byte for byte.

    pytest python/tests        (the pg_mint CLI on PATH; no server needed)
"""
import shutil
import subprocess

import pytest

from pg_mint.fingerprint import compose, fingerprint_files
from pg_mint.urls import UrlError, database_of, parse_conninfo, redact, to_libpq, with_database

CLI = shutil.which("pg_mint")
needs_cli = pytest.mark.skipif(CLI is None, reason="the pg_mint CLI is not on PATH")

URLS = [
    "postgresql+asyncpg://app:s3cr%40t@db:5432/app_test?ssl=require",
    "postgresql+psycopg://app@/app_test?host=/var/run/postgresql&port=5433",
    "postgresql://u:p%40ss@[::1]:5433/app?sslmode=require",
    "postgresql:///app?host=/var/run/postgresql",
    "postgres://h1:5432,h2:5433/app?target_session_attrs=read-write",
    "postgresql://h/app?dbname=other&application_name=x",
    "postgresql://h:5432",
    "postgresql+asyncpg://app:pw@h/caf%C3%A9",
    "host=/tmp port=5432 dbname=app_test",
    "host=h dbname='my app' user=u",
]


def cli(*args):
    return subprocess.run([CLI, *args], check=True, stdout=subprocess.PIPE, text=True).stdout.rstrip("\n")


@needs_cli
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("db", ["app_test_gw3", "a b/c?d", "naïve_gw1"])
def test_with_database_matches_cli(url, db):
    assert with_database(url, db) == cli("url", url, "--database", db)


def test_rewrite_keeps_everything_but_the_database():
    url = "postgresql+asyncpg://app:s3cr%40t@db:5432/app_test?ssl=require&prepared_statement_cache_size=0"
    assert with_database(url, "app_test_gw1") == \
        "postgresql+asyncpg://app:s3cr%40t@db:5432/app_test_gw1?ssl=require&prepared_statement_cache_size=0"
    assert database_of(with_database(url, "x")) == "x"
    assert with_database("app_test", "app_test_gw0") == "app_test_gw0"   # a bare name (PGDATABASE)
    assert database_of("host=h dbname=a dbname=b") == "b"


def test_to_libpq_drops_driver_options_and_maps_ssl():
    conninfo, skipped = to_libpq("postgresql+asyncpg://u:p%40w@h:6543/app?ssl=require&command_timeout=5", "postgres")
    assert parse_conninfo(conninfo) == {"host": "h", "port": "6543", "user": "u", "password": "p@w",
                                        "sslmode": "require", "dbname": "postgres"}
    assert skipped == ["command_timeout"]


def test_bad_urls_are_refused():
    for bad in ("postgresql://h:port/app", "postgresql://[::1/app", "postgresql+://h/app", "postgresql://h/a%zz"):
        with pytest.raises(UrlError):
            with_database(bad, "x")


def test_redact_hides_every_password():
    text = ("postgresql+asyncpg://app:S3cret@h/db?sslpassword=K3y and "
            "host=h password='S3 cret' and password=S3cret2 user=x")
    out = redact(text)
    for secret in ("S3cret", "K3y", "S3 cret", "S3cret2"):
        assert secret not in out, out
    assert out.count("xxxxx") == 4
    assert redact("postgresql://app@h/db") == "postgresql://app@h/db"


@needs_cli
def test_fingerprint_matches_cli(tmp_path):
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "versions" / "0001.py").write_text("create table a()\n")
    (tmp_path / "migrations" / "env.py").write_text("x = 1\n")
    (tmp_path / "migrations" / ".hidden").write_text("ignored")
    (tmp_path / "migrations" / "__pycache__").mkdir()
    (tmp_path / "migrations" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    paths = [str(tmp_path / "migrations"), str(tmp_path / "alembic.ini")]
    fp = fingerprint_files(paths)
    assert fp == cli("fingerprint", *paths) == cli("fingerprint", *reversed(paths))
    (tmp_path / "migrations" / ".hidden").write_text("still ignored")
    assert fingerprint_files(paths) == fp
    (tmp_path / "migrations" / "versions" / "0002.py").write_text("create table b()\n")
    assert fingerprint_files(paths) != fp
    assert compose(["v2"], "abc") == "v2:abc"
