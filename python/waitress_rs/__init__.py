"""waitress-rs: serve WSGI applications with a Rust HTTP/1.1 server configured like waitress.

Drop-in for waitress::

    from waitress_rs import serve      # was: from waitress import serve
    serve(app, host="127.0.0.1", port=8080, threads=8)

Settings are waitress's keyword arguments. Values may be strings (as INI files give them),
ints, bools or lists; they are checked by the same rules as the ``waitress-rs`` command line
and INI files, and a bad one raises ``ValueError``.
"""

import logging
import os
import socket

from . import _native

__all__ = ["serve", "serve_paste", "check", "FileWrapper"]
__version__ = _native.__version__


class FileWrapper:
    """``wsgi.file_wrapper``: a file-like object sent as the response body.

    A regular file with ``fileno()`` and ``tell()`` is sent from its current position with
    sendfile, without passing through Python; anything else is read ``block_size`` bytes at
    a time.
    """

    def __init__(self, filelike, block_size=32768):
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.block_size)
        if not data:
            raise StopIteration
        return data

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def _split_test_shims(kw):
    """waitress's test-only keywords: ``_quiet`` (no logging setup, no ``Serving on``) is
    honoured; ``_server`` (a server factory) and ``_profile`` (cProfile output) cannot be, so
    asking for them is an error rather than a server that silently does something else."""
    quiet = bool(kw.pop("_quiet", False))
    if kw.pop("_server", None) is not None:
        raise ValueError("_server (waitress's server factory hook) is not supported by waitress-rs")
    if kw.pop("_profile", False):
        raise ValueError("_profile (waitress's cProfile hook) is not supported by waitress-rs")
    return quiet


def _check_socket_objects(sockets):
    """waitress's ``Adjustments.check_sockets``: stream sockets only, Internet or UNIX, not
    both (the same ValueErrors, before anything is duplicated or bound)."""
    inet = unix = unsupported = False
    for sock in sockets:
        if not hasattr(sock, "fileno"):
            continue
        if sock.type != socket.SOCK_STREAM:
            unsupported = True
        elif sock.family in (socket.AF_INET, socket.AF_INET6):
            inet = True
        elif sock.family == getattr(socket, "AF_UNIX", None):
            unix = True
        else:
            unsupported = True
    if inet and unix:
        raise ValueError("Internet and UNIX sockets may not be mixed.")
    if unsupported:
        raise ValueError("Only Internet or UNIX stream sockets may be used.")


def _socket_fds(kw, dup=True):
    """waitress's ``sockets=[sock, ...]``: listening socket objects become descriptor numbers.

    For serving each is duplicated, so the server owns (and closes) its copy and the caller's
    socket object stays valid; ``check`` only reads the numbers.
    """
    sockets = kw.get("sockets")
    if isinstance(sockets, (list, tuple)) and any(hasattr(s, "fileno") for s in sockets):
        _check_socket_objects(sockets)
        number = (lambda s: os.dup(s.fileno())) if dup else (lambda s: s.fileno())
        kw["sockets"] = " ".join(
            str(number(s)) if hasattr(s, "fileno") else str(s) for s in sockets
        )


def serve(app, **kw):
    """Serve the WSGI application ``app`` until Ctrl-C or SIGTERM.

    Keyword arguments are waitress's settings (``host``, ``port``, ``listen``, ``threads``,
    ``unix_socket``, ``trusted_proxy``, ``sockets=[listening socket objects]``, ...).
    """
    quiet = _split_test_shims(kw)
    _socket_fds(kw)
    if not quiet:
        logging.basicConfig()
    _native.serve(app, kw, quiet)


def serve_paste(app, global_conf, **kw):
    """The PasteDeploy server runner: ``[server:main] use = egg:waitress-rs#main``.

    ``global_conf`` (``[DEFAULT]``) is ignored, as waitress ignores it; the section's keys are
    strings and are converted as the INI reader converts them.
    """
    serve(app, **kw)
    return 0


def check(**kw):
    """Validate settings as ``serve`` would; return them as an INI ``[server:main]`` text."""
    _split_test_shims(kw)
    _socket_fds(kw, dup=False)
    return _native.check(kw)
