"""Connection strings: URLs (any SQLAlchemy driver), libpq conninfo, bare names.

Pure functions, no server.  They follow the rules of the pg_mint CLI
(cli/url.c): rewriting replaces only the database -- the URL's path and any
``dbname=`` query parameter -- and copies every other character of the
original text, so the scheme and driver (``postgresql+asyncpg://``),
credentials with their original percent-encoding, hosts, ports and query
parameters such as ``?ssl=require`` survive untouched.
"""
from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import quote, unquote

__all__ = [
    "ParsedUrl", "is_url", "is_conninfo", "parse_url", "database_of",
    "with_database", "to_libpq", "redact", "parse_conninfo", "make_conninfo",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
MASK = "xxxxx"

# libpq's connection keywords (PostgreSQL 13-18); URL query parameters that
# are not among them (asyncpg's ssl=, driver options) are not given to libpq.
LIBPQ_KEYWORDS = frozenset("""
host hostaddr port dbname user password passfile channel_binding connect_timeout
client_encoding options application_name fallback_application_name keepalives
keepalives_idle keepalives_interval keepalives_count tcp_user_timeout replication
gssencmode sslmode requiressl sslcompression sslcert sslkey sslpassword sslrootcert
sslcrl sslcrldir sslsni requirepeer ssl_min_protocol_version ssl_max_protocol_version
krbsrvname gsslib gssdelegation target_session_attrs load_balance_hosts service
require_auth sslcertmode sslnegotiation
""".split())
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class UrlError(ValueError):
    """A connection string pg_mint cannot read (the message never shows a password)."""


class ParsedUrl(NamedTuple):
    scheme: str             # "postgresql"
    driver: Optional[str]   # "asyncpg" in postgresql+asyncpg://
    user: Optional[str]
    password: Optional[str]
    hosts: str              # decoded, comma separated
    ports: str
    dbname: Optional[str]
    params: List[Tuple[str, str]]  # decoded query parameters, in order
    path_start: int         # where "/dbname" starts (or would go) in the text
    path_end: int           # where it ends (the '?' or the end)


def is_url(s: str) -> bool:
    return bool(_SCHEME.match(s or ""))


def is_conninfo(s: str) -> bool:
    """True for a libpq "key=value ..." string (not a URL, not a bare name)."""
    return not is_url(s) and "=" in (s or "")


def _decode(s: str, what: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", s) or re.search(r"%00", s):
        raise UrlError("invalid percent-encoding in the %s" % what)
    return unquote(s)


def parse_url(s: str) -> ParsedUrl:
    """Parse a URL with libpq's grammar (plus SQLAlchemy's "+driver")."""
    m = _SCHEME.match(s)
    if not m:
        raise UrlError("not a URL (expected scheme://...)")
    scheme, _, driver = m.group(1).partition("+")
    if m.group(1).endswith("+"):
        raise UrlError('empty driver name after "+" in the URL scheme')
    p = m.end()
    user = password = None
    # user information: up to the first '@' before any '/'
    at = p
    while at < len(s) and s[at] not in "@/":
        at += 1
    if at < len(s) and s[at] == "@":
        ui = s[p:at]
        u, colon, pw = ui.partition(":")
        if u:
            user = _decode(u, "user name")
        if colon:
            password = _decode(pw, "password")
        p = at + 1
    hosts: List[str] = []
    ports: List[str] = []
    while True:
        if s.startswith("[", p):
            end = s.find("]", p)
            if end < 0:
                raise UrlError('missing "]" after an IPv6 host address')
            if end == p + 1:
                raise UrlError("empty IPv6 host address")
            host = s[p + 1:end]
            p = end + 1
            if p < len(s) and s[p] not in ":/?,":
                raise UrlError("unexpected character after an IPv6 host address")
        else:
            e = p
            while e < len(s) and s[e] not in ":/?,":
                e += 1
            host, p = s[p:e], e
        hosts.append(_decode(host, "host name"))
        port = ""
        if p < len(s) and s[p] == ":":
            e = p + 1
            while e < len(s) and s[e] not in "/?,":
                e += 1
            port = s[p + 1:e]
            if not port.isdigit() and port != "":
                raise UrlError("invalid port number")
            p = e
        ports.append(port)
        if p < len(s) and s[p] == ",":
            p += 1
            continue
        break
    path_start = p
    dbname = None
    if p < len(s) and s[p] == "/":
        e = s.find("?", p)
        e = len(s) if e < 0 else e
        if e > p + 1:
            dbname = _decode(s[p + 1:e], "database name")
        p = e
    path_end = p
    params: List[Tuple[str, str]] = []
    if p < len(s) and s[p] == "?":
        for piece in s[p + 1:].split("&"):
            if not piece:
                continue
            k, eq, v = piece.partition("=")
            if not eq:
                raise UrlError('missing "=" in a URL query parameter')
            if "=" in v:
                raise UrlError('extra "=" in a URL query parameter')
            k, v = _decode(k, "URL query"), _decode(v, "URL query")
            params.append((k, v))
            if k == "dbname":
                dbname = v or None
    return ParsedUrl(scheme, driver or None, user, password, ",".join(hosts),
                     ",".join(ports) if any(ports) else "", dbname, params,
                     path_start, path_end)


# ---- libpq conninfo ("host=h dbname='a b'") --------------------------------

def parse_conninfo(s: str) -> Dict[str, str]:
    """Parse a libpq keyword/value string (a later keyword wins, as in libpq)."""
    out: Dict[str, str] = {}
    i, n = 0, len(s)
    while True:
        while i < n and s[i].isspace():
            i += 1
        if i >= n:
            return out
        k0 = i
        while i < n and s[i] != "=" and not s[i].isspace():
            i += 1
        key = s[k0:i]
        while i < n and s[i].isspace():
            i += 1
        if i >= n or s[i] != "=" or not key:
            raise UrlError('missing "=" after "%s" in connection info string' % key[:40])
        i += 1
        while i < n and s[i].isspace():
            i += 1
        val: List[str] = []
        if i < n and s[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise UrlError("unterminated quoted string in connection info string")
                c = s[i]
                if c == "\\" and i + 1 < n:
                    val.append(s[i + 1])
                    i += 2
                elif c == "'":
                    i += 1
                    break
                else:
                    val.append(c)
                    i += 1
        else:
            while i < n and not s[i].isspace():
                if s[i] == "\\" and i + 1 < n:
                    val.append(s[i + 1])
                    i += 2
                else:
                    val.append(s[i])
                    i += 1
        if key not in LIBPQ_KEYWORDS:
            raise UrlError('invalid connection option "%s"' % key)
        out[key] = "".join(val)


def _quote_conninfo_value(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_conninfo(params: Dict[str, str]) -> str:
    return " ".join("%s=%s" % (k, _quote_conninfo_value(str(v))) for k, v in params.items())


# ---- the operations ----------------------------------------------------------

def database_of(s: str) -> Optional[str]:
    """The database a URL, conninfo string or bare name names (None: none)."""
    if is_url(s):
        return parse_url(s).dbname
    if is_conninfo(s):
        return parse_conninfo(s).get("dbname") or None
    return s or None


def with_database(s: str, dbname: str) -> str:
    """The same connection string with only the database replaced."""
    if is_url(s):
        u = parse_url(s)
        enc = quote(dbname, safe="")
        out = s[:u.path_start] + "/" + enc
        rest = s[u.path_end:]
        if rest.startswith("?"):
            pieces = []
            for piece in rest[1:].split("&"):
                k, eq, _ = piece.partition("=")
                if eq and unquote(k) == "dbname":
                    piece = k + "=" + enc
                pieces.append(piece)
            out += "?" + "&".join(pieces)
        return out
    if is_conninfo(s):
        parse_conninfo(s)  # refuse what libpq would refuse
        # as the CLI: a later dbname= wins in libpq
        return (s + " " if s else "") + "dbname=" + _quote_conninfo_value(dbname)
    return dbname


def to_libpq(s: str, dbname: Optional[str] = None) -> Tuple[str, List[str]]:
    """A libpq connection string for the server s names (any driver), with
    the database replaced by dbname when given.  Returns the string and the
    names of URL parameters that libpq does not know and were left out."""
    if is_url(s):
        u = parse_url(s)
        if u.scheme not in ("postgresql", "postgres"):
            raise UrlError('unsupported URL scheme "%s" (expected postgresql:// or postgresql+DRIVER://)' % u.scheme)
        params: Dict[str, str] = {}
        hosts = u.hosts
        if hosts and hosts.strip(","):
            params["host"] = hosts
        if u.ports:
            params["port"] = u.ports
        if u.user is not None:
            params["user"] = u.user
        if u.password is not None:
            params["password"] = u.password
        skipped: List[str] = []
        for k, v in u.params:
            if k == "ssl":  # asyncpg's spelling; libpq maps ssl=true itself
                if v == "true":
                    params["sslmode"] = "require"
                elif v in _SSLMODES:
                    params["sslmode"] = v
                else:
                    skipped.append(k)
            elif k == "dbname":
                continue
            elif k in LIBPQ_KEYWORDS:
                params[k] = v
            else:
                skipped.append(k)
        db = dbname if dbname is not None else u.dbname
        if db:
            params["dbname"] = db
        return make_conninfo(params), skipped
    if is_conninfo(s):
        params = parse_conninfo(s)
        if dbname is not None:
            params["dbname"] = dbname
        return make_conninfo(params), []
    # a bare database name: libpq defaults (PGHOST, ...) for the rest
    return make_conninfo({"dbname": dbname if dbname is not None else s}) if (dbname or s) else "", []


_CONNINFO_SECRET = re.compile(r"""(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)""")


def redact(s: str) -> str:
    """s with every password replaced by xxxxx (URLs, conninfo, messages)."""
    if not s:
        return s

    def url_pw(m: "re.Match[str]") -> str:
        return m.group(1) + MASK + "@"

    # the password in a URL's user information: scheme://user:PASSWORD@
    out = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^@\s]*@", url_pw, s)
    # password= in URL queries and conninfo strings
    out = re.sub(r"(?i)([?&](?:ssl)?password=)[^&\s]*", lambda m: m.group(1) + MASK, out)
    out = _CONNINFO_SECRET.sub(lambda m: m.group(1) + MASK, out)
    return out
