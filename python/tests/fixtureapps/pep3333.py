"""Apps exercising the PEP 3333 surface: environ, wsgi.input, start_response, close()."""

import io
import json
import sys
import threading
import time

_local = threading.local()
_closed = []
_kept = []


class Closing:
    """An iterable whose close() is recorded (PEP 3333: the server must call it)."""

    def __init__(self, parts, fail_at=None):
        self.parts = parts
        self.fail_at = fail_at

    def __iter__(self):
        for i, part in enumerate(self.parts):
            if i == self.fail_at:
                raise RuntimeError("failed while iterating")
            yield part

    def close(self):
        _closed.append(1)


class NoReadFile:
    """A real file whose read() refuses: only sendfile can send it."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.f.seek(3)

    def fileno(self):
        return self.f.fileno()

    def tell(self):
        return self.f.tell()

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return self.f.seek(offset, whence)

    def read(self, n=-1):
        raise RuntimeError("read() called: the file did not go out with sendfile")

    def close(self):
        _closed.append(1)
        self.f.close()


def _json(start_response, data, status="200 OK"):
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _sendfile_path():
    import os

    p = os.path.join(os.environ["WAITRESS_RS_TEST_TMP"], "sendfile.bin")
    if not os.path.exists(p):
        # Written once, atomically: concurrent requests must not see it half written.
        tmp = "%s.%d" % (p, threading.get_ident())
        with open(tmp, "wb") as f:
            f.write(b"0123456789" * 10000)
        os.replace(tmp, p)
    return p


def app(environ, start_response):
    path = environ["PATH_INFO"]
    inp = environ["wsgi.input"]
    if path.startswith("/environ"):
        return _json(
            start_response,
            {
                "types": {k: type(v).__name__ for k, v in environ.items()},
                "version": list(environ["wsgi.version"]),
                "multithread": environ["wsgi.multithread"],
                "multiprocess": environ["wsgi.multiprocess"],
                "run_once": environ["wsgi.run_once"],
                "errors_is_stderr": environ["wsgi.errors"] is sys.stderr,
                "input_terminated": environ.get("wsgi.input_terminated"),
                "client_disconnected": environ["waitress.client_disconnected"](),
                "path_info": environ["PATH_INFO"],
                "query": environ["QUERY_STRING"],
                "x_latin": environ.get("HTTP_X_LATIN"),
            },
        )
    if path == "/watch_client":
        # Watches for the client to go (up to QUERY_STRING seconds, default 5), as an app doing
        # long work would, and says on stderr what it saw.
        disconnected = environ["waitress.client_disconnected"]
        print("watching the client", file=sys.stderr, flush=True)
        deadline = time.monotonic() + float(environ["QUERY_STRING"] or 5)
        while not disconnected() and time.monotonic() < deadline:
            time.sleep(0.01)
        print("client_disconnected() is %s" % disconnected(), file=sys.stderr, flush=True)
        return _json(start_response, {"disconnected": disconnected()})
    if path == "/readline":
        first = inp.readline()
        limited = inp.readline(3)
        rest_lines = inp.readlines()
        return _json(
            start_response,
            {"first": first.decode("latin-1"), "limited": limited.decode("latin-1"),
             "rest": [l.decode("latin-1") for l in rest_lines], "after": inp.read().decode()},
        )
    if path == "/seek":
        # Middleware commonly reads the body and rewinds it for the app, as waitress's
        # BytesIO / temp file allow.
        got = {"head": inp.read(3).decode(), "tell": inp.tell(), "seekable": inp.seekable()}
        got["rewound_to"] = inp.seek(0)
        got["all"] = inp.read().decode()
        inp.seek(-2, 2)
        got["tail"] = inp.read().decode()
        inp.seek(1)
        inp.seek(2, 1)
        got["tell_after_relative"] = inp.tell()
        inp.seek(0)
        buf = bytearray(4)
        got["readinto"] = [inp.readinto(buf), buf.decode()]
        got["line_after_readinto"] = inp.readline().decode()
        inp.seek(10**6)
        got["past_end"] = [inp.read().decode(), inp.readinto(bytearray(2))]
        try:
            inp.seek(-1)
        except ValueError as e:
            got["negative"] = str(e)
        return _json(start_response, got)
    if path == "/fw_bytesio":
        # A seekable object that is not a file, read from position 100: waitress works out the
        # length with seek and tell.
        data = io.BytesIO(bytes(range(256)) * 300)
        data.seek(100)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](data)
    if path == "/thread":
        return _json(start_response, {"name": threading.current_thread().name})
    if path == "/readinto_many":
        # Each call's objects must be freed: a leak of one object a call shows as blocks.
        import array
        import gc

        sizes = []
        typed = array.array("i", [0] * 4)
        sizes.append(inp.readinto(typed))
        sizes.append(typed.tobytes().decode())
        gc.collect()
        before = sys.getallocatedblocks()
        buf = bytearray(600)
        for _ in range(3000):
            inp.seek(0)
            inp.readinto(buf)
        gc.collect()
        return _json(start_response, {"typed": sizes, "grown": sys.getallocatedblocks() - before})
    if path == "/iterate":
        lines = [line.decode() for line in inp]
        return _json(start_response, {"lines": lines})
    if path == "/read_huge":
        # A size far past the body: the body comes back, without a huge allocation.
        return _json(start_response, {"got": inp.read(2**40).decode(), "again": inp.read(2**40).decode()})
    if path == "/read_chunks":
        parts = []
        while True:
            chunk = inp.read(1000)
            if not chunk:
                break
            parts.append(len(chunk))
        return _json(start_response, {"parts": parts})
    if path == "/keep_input":
        # Keeps the environ past the request, as a log handler buffering records with their
        # tracebacks (frames, so environs) would.
        inp.read(10)
        _kept.append(environ)
        return _json(start_response, {"kept": len(_kept)})
    if path == "/read_kept":
        got = []
        for kept in _kept:
            try:
                got.append(len(kept["wsgi.input"].read()))
            except ValueError as e:
                got.append(str(e))
        _kept.clear()
        return _json(start_response, {"reads": got})
    if path == "/threadlocal":
        _local.n = getattr(_local, "n", 0) + 1
        return _json(start_response, {"n": _local.n, "thread": threading.get_ident()})
    if path == "/exc_info":
        start_response("200 OK", [("X-A", "1")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            start_response("503 Service Unavailable", [("X-B", "2")], sys.exc_info())
        return [b"sorry"]
    if path == "/exc_info_late":
        write = start_response("200 OK", [])
        write(b"partial")
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Oops", [], sys.exc_info())
        return [b"never"]
    if path == "/twice":
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"no"]
    if path == "/bad_status":
        start_response("OK", [])
        return [b"no"]
    if path == "/status_999":
        start_response("999 Weird", [])
        return [b"no"]
    if path == "/status_not_str":
        start_response(200, [])
        return [b"no"]
    if path == "/crlf_header":
        start_response("200 OK", [("X-A", "a\r\nX-Injected: 1")])
        return [b"no"]
    if path == "/hop_by_hop":
        start_response("200 OK", [("Connection", "close")])
        return [b"no"]
    if path == "/header_not_str":
        start_response("200 OK", [("X-A", 1)])
        return [b"no"]
    if path == "/str_body":
        start_response("200 OK", [])
        return ["text, not bytes"]
    if path == "/no_start_response":
        return [b"body"]
    if path == "/write_then_iter":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written;")
        return Closing([b"iterated"])
    if path == "/closing":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Closing([b"a", b"b", b"c"])
    if path == "/closing_fails":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Closing([b"a", b"b"], fail_at=0)
    if path == "/closed_count":
        return _json(start_response, {"closed": len(_closed)})
    if path == "/sendfile":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](NoReadFile(_sendfile_path()))
    if path == "/fw_seek":
        # Middleware answering a Range request seeks the wrapper, as Werkzeug's does.
        wrapper = environ["wsgi.file_wrapper"](NoReadFile(_sendfile_path()))
        assert wrapper.seekable() and wrapper.tell() == 3, wrapper.tell()
        wrapper.seek(99000)
        assert wrapper.file.tell() == 99000
        start_response("206 Partial Content", [("Content-Type", "application/octet-stream")])
        return wrapper
    if path == "/empty_list":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return []
    if path == "/empty_part":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]
    if path == "/generator":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (p for p in [b"ab", b"", b"cd"])
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
