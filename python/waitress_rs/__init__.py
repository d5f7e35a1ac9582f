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
import threading

from . import _native

__all__ = ["serve", "serve_paste", "create_server", "Server", "check", "FileWrapper"]
__version__ = _native.__version__

# The server's loggers exist from import on, as waitress's do (its modules create them), so a
# later ``logging.config.dictConfig`` with the default ``disable_existing_loggers=True`` turns
# them off as it turns off waitress's.
for _name in ("waitress", "waitress.queue"):
    logging.getLogger(_name)


class FileWrapper:
    """``wsgi.file_wrapper``: a file-like object sent as the response body.

    A regular file with ``fileno()`` and ``tell()`` is sent from its current position with
    sendfile, without passing through Python; anything else is read ``block_size`` bytes at
    a time. As in waitress (2.1.0), the wrapper of a seekable file has the file's ``seek``,
    ``tell`` and ``seekable``, so middleware can answer a Range request by seeking the
    wrapper (Werkzeug's ``send_file`` does) instead of reading the file up to the range.
    """

    def __init__(self, file, block_size=32768):
        self.file = file
        self.block_size = block_size
        if _is_seekable(file):
            if hasattr(file, "seekable"):
                self.seekable = file.seekable
            self.seek = file.seek
            self.tell = file.tell

    def __iter__(self):
        return self

    def __next__(self):
        data = self.file.read(self.block_size)
        if not data:
            raise StopIteration
        return data

    def close(self):
        close = getattr(self.file, "close", None)
        if close is not None:
            close()


def _is_seekable(file):
    """waitress's test: ``seekable()`` where the object has it, else ``seek`` and ``tell``."""
    if hasattr(file, "seekable"):
        return file.seekable()
    return hasattr(file, "seek") and hasattr(file, "tell")


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


class Server:
    """A server bound to its listeners, as waitress's ``create_server`` returns it.

    ``run()`` serves until ``close()`` is called from another thread; run in the main thread,
    SIGINT and SIGTERM stop it too, as they stop ``serve``. Either way it finishes the requests
    in progress before it returns. ``effective_host`` and ``effective_port`` are strings, as
    waitress's are (``"127.0.0.1"``, ``"8080"``; ``"unix"`` and the path for a UNIX socket),
    the real port where port 0 was asked for; with more than one listener, as in waitress,
    there are only ``effective_listen``'s pairs.
    """

    def __init__(self, native, application):
        self._native = native
        self.application = application
        self.effective_listen = [_host_port(url) for url in native.urls]
        if len(self.effective_listen) == 1:
            self.effective_host, self.effective_port = self.effective_listen[0]

    @property
    def getsockname(self):
        """``getsockname()``: the listener's address as waitress's server gives it, the pair of
        strings ``effective_host`` and ``effective_port`` (``("unix", path)`` for a UNIX
        socket). A server of several listeners has no such method, as in waitress."""
        if len(self.effective_listen) != 1:
            raise AttributeError("a server with several listeners has no getsockname(); see effective_listen")
        address = self.effective_listen[0]
        return lambda: address

    def print_listen(self, format_str):
        """Log ``format_str.format(host, port)`` for each listener to the ``waitress`` logger
        (an IPv6 host in brackets)."""
        for host, port in self.effective_listen:
            if ":" in host:
                host = f"[{host}]"
            logging.getLogger("waitress").info(format_str.format(host, port))

    def run(self):
        """Serve until ``close()`` (or, in the main thread, SIGINT or SIGTERM)."""
        self._run(None)

    def _run(self, ready):
        # Signals are the server's only in the main thread, where Python itself takes them;
        # in another thread they stay the program's (SIGTERM ends the process, as under
        # waitress, rather than stopping a server the program does not wait for).
        self._native.run(threading.current_thread() is threading.main_thread(), ready)

    def close(self):
        """Stop serving: ``run()`` returns once the requests in progress are done. Before
        ``run()``, the listeners are closed at once."""
        self._native.close()


def _host_port(url):
    """``http://[::1]:8080`` as waitress's ``(effective_host, effective_port)``."""
    address = url.removeprefix("http://")
    if address.startswith("unix:"):
        return "unix", address.removeprefix("unix:")
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), port


def create_server(application, map=None, _start=True, _sock=None, _dispatcher=None, **kw):
    """Bind ``application`` with waitress's settings and return a :class:`Server` to ``run()``.

    As waitress's ``create_server``; its internal hooks (``map``, ``_start``, ``_sock``,
    ``_dispatcher``) are refused rather than ignored.
    """
    hooks = {"map": map is not None, "_start": not _start, "_sock": _sock is not None,
             "_dispatcher": _dispatcher is not None}
    for name, given in hooks.items():
        if given:
            raise ValueError(f"{name} (a waitress internal hook) is not supported by waitress-rs")
    _socket_fds(kw)
    return Server(_native.bind(application, kw), application)


def serve(app, **kw):
    """Serve the WSGI application ``app`` until Ctrl-C or SIGTERM (in the main thread; in
    another, the signals are left to the program, as waitress leaves them).

    Keyword arguments are waitress's settings (``host``, ``port``, ``listen``, ``threads``,
    ``unix_socket``, ``trusted_proxy``, ``sockets=[listening socket objects]``, ...).
    """
    quiet = _split_test_shims(kw)
    if not quiet:
        logging.basicConfig()
    server = create_server(app, **kw)
    # Serving on is logged once SIGINT and SIGTERM are handled, so a stop sent on seeing it
    # drains.
    ready = None if quiet else (lambda: server.print_listen("Serving on http://{}:{}"))
    server._run(ready)


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
