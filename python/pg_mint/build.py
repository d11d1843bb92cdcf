"""Running the schema build: a shell command, or ``module:function``."""
from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from typing import Dict, Tuple

from .core import MintError

__all__ = ["is_callable_spec", "run_build", "TAIL_LINES"]

TAIL_LINES = 20
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_callable_spec(build: str) -> bool:
    """``package.module:function`` (else: a shell command)."""
    return bool(_CALLABLE.match(build.strip()))


def _tail(text: str, n: int = TAIL_LINES) -> str:
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:])


def run_build(build: str, template: str, template_url: str, env: Dict[str, str], cwd: str) -> Tuple[float, str]:
    """Build the schema in the template; returns (seconds, output).

    A shell command runs in cwd with env (the URL variables and PGDATABASE
    pointing at the template) and its output captured; a callable gets the
    template's URL (in the base URL's driver form) and may be a coroutine
    function.  Failures raise MintError with the exit status or exception
    and the last lines of output.
    """
    t0 = time.monotonic()
    spec = build.strip()
    if is_callable_spec(spec):
        modname, _, attr = spec.partition(":")
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        try:
            obj: object = importlib.import_module(modname)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as e:
            raise MintError('cannot load the build function "%s": %s: %s' % (spec, type(e).__name__, e),
                            hint="mint_build takes a shell command or module:function (importable from %s)" % cwd) from None
        if not callable(obj):
            raise MintError('the build "%s" is not callable' % spec)
        try:
            result = obj(template_url)
            if inspect.isawaitable(result):
                async def _await(aw):  # type: ignore[no-untyped-def]
                    return await aw
                asyncio.run(_await(result))
        except Exception as e:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            raise MintError('building template "%s" failed: %s raised %s: %s\nlast lines of its traceback:\n%s'
                            % (template, spec, type(e).__name__, e, _tail(tb)),
                            hint="The template was aborted (mint.template_abort); the next run builds it again.") from None
        return time.monotonic() - t0, ""
    full_env = dict(os.environ)
    full_env.update(env)
    # "python" in the command is the interpreter running the tests (a venv's)
    bindir = os.path.dirname(sys.executable)
    if bindir and bindir not in full_env.get("PATH", "").split(os.pathsep)[:1]:
        full_env["PATH"] = bindir + os.pathsep + full_env.get("PATH", "")
    try:
        proc = subprocess.run(spec, shell=True, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        raise MintError('cannot run the build command "%s": %s' % (spec, e)) from None
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        if proc.returncode < 0:
            try:
                status = "was killed by signal %d (%s)" % (-proc.returncode, signal.Signals(-proc.returncode).name)
            except ValueError:
                status = "was killed by signal %d" % -proc.returncode
        else:
            status = "exited with status %d" % proc.returncode
        tail = _tail(out)
        raise MintError('building template "%s" failed: the build command `%s` %s; %s'
                        % (template, spec, status,
                           ("last %d lines of its output:\n%s" % (min(TAIL_LINES, len(tail.splitlines())), tail))
                           if tail else "it printed nothing"),
                        hint="The template was aborted (mint.template_abort); the next run builds it again.")
    return time.monotonic() - t0, out

