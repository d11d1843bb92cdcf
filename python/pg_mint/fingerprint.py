"""Fingerprints of files and directory trees, exactly as ``pg_mint fingerprint``.

Every regular file under the given paths (recursively, following symbolic
links) gets a key: for a directory argument D, ``basename(D)/`` plus its
path relative to D with ``/`` separators; for a file argument, its basename.
Entries are sorted by key (bytewise, then by path) and hashed with SHA-256 as
``key NUL decimal-size NUL contents``.  Inside directories, names starting
with ``.`` and ``__pycache__`` directories are skipped.  The hash therefore
does not depend on the current directory, the argument order, file times or
permissions, and changes when a file is added, removed, renamed or edited --
and a template built by the CLI (``--fingerprint-files``) is ``ready`` for
the pytest plugin and the other way round.
"""
from __future__ import annotations

import glob
import hashlib
import os
from typing import Iterable, List, Optional, Sequence, Tuple

__all__ = ["FingerprintError", "fingerprint_files", "expand_inputs", "compose"]


class FingerprintError(Exception):
    pass


def _walk(path: str, key: str, out: List[Tuple[bytes, str]], depth: int) -> None:
    if depth > 64:
        raise FingerprintError('"%s": directories nested too deeply (a symbolic link loop?)' % path)
    try:
        names = os.listdir(path)
    except OSError as e:
        raise FingerprintError('could not open directory "%s": %s' % (path, e.strerror)) from None
    for name in names:
        if name.startswith(".") or name == "__pycache__":
            continue
        p = os.path.join(path, name)
        k = key + "/" + name
        try:
            if os.path.isdir(p):
                _walk(p, k, out, depth + 1)
            elif os.path.isfile(p):
                out.append((os.fsencode(k), p))
        except OSError as e:  # pragma: no cover - races with deletion
            raise FingerprintError('could not read "%s": %s' % (p, e.strerror)) from None


def fingerprint_files(paths: Sequence[str]) -> str:
    """SHA-256 (hex) over the files under paths, as ``pg_mint fingerprint``."""
    entries: List[Tuple[bytes, str]] = []
    for path in paths:
        if not os.path.exists(path):
            raise FingerprintError('could not read "%s": No such file or directory' % path)
        key = os.path.basename(os.path.realpath(path))
        if os.path.isdir(path):
            _walk(path, key, entries, 0)
        elif os.path.isfile(path):
            entries.append((os.fsencode(key), path))
        else:
            raise FingerprintError('"%s" is neither a file nor a directory' % path)
    h = hashlib.sha256()
    for key, path in sorted(entries, key=lambda e: (e[0], os.fsencode(e[1]))):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise FingerprintError('could not read "%s": %s' % (path, e.strerror)) from None
        h.update(key + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


def expand_inputs(patterns: Iterable[str], base: str) -> List[str]:
    """Paths and globs (relative to base) to existing paths, sorted and
    without duplicates.  A pattern that matches nothing is an error: a typo
    must not silently freeze the fingerprint."""
    found: List[str] = []
    for pat in patterns:
        full = pat if os.path.isabs(pat) else os.path.join(base, pat)
        if glob.has_magic(pat):
            matches = sorted(glob.glob(full, recursive=True))
            if not matches:
                raise FingerprintError('fingerprint input "%s" matches no file (looked in %s)' % (pat, base))
        elif os.path.exists(full):
            matches = [full]
        else:
            raise FingerprintError('fingerprint input "%s" does not exist (looked in %s)' % (pat, base))
        for m in matches:
            m = os.path.normpath(m)
            if m not in found:
                found.append(m)
    return found


def compose(extra: Sequence[str], files_hash: Optional[str]) -> str:
    """The fingerprint string: ``STR:HASH`` as ``pg_mint template --fingerprint
    STR --fingerprint-files ...`` (several strings are joined with ':')."""
    parts = [s for s in extra if s] + ([files_hash] if files_hash else [])
    return ":".join(parts)
