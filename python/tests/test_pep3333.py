"""The PEP 3333 bridge: environ, wsgi.input, start_response and exc_info, write, close(),
bad responses turned into 500s, worker thread-locals."""

import json
import os
import time

import pytest

from conftest import Server
from httpclient import assert_closed, dechunk, read_http


@pytest.fixture(scope="module", params=["tcp", "unix"])
def server(request):
    s = Server(["--threads", "2", "fixtureapps.pep3333:app"], unix=request.param == "unix")
    yield s
    s.stop()


@pytest.fixture
def conn(server):
    sock = server.connect()
    fp = sock.makefile("rb", 0)

    class C:
        def request(self, path, body=b"", headers=b"", version=b"1.1"):
            sock.sendall(
                b"POST %s HTTP/%s\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s"
                % (path, version, headers, len(body), body)
            )
            return read_http(fp)

        def closed(self):
            assert_closed(sock, fp)

    yield C()
    fp.close()
    sock.close()


def test_environ_types_and_wsgi_keys(conn):
    line, headers, body = conn.request(b"/environ?a=%C3%A4", headers=b"X-Latin: caf\xe9\r\n")
    assert line == b"HTTP/1.1 200 OK\r\n"
    got = json.loads(body)
    assert got["version"] == [1, 0]
    assert got["multithread"] is True
    assert got["multiprocess"] is False
    assert got["run_once"] is False
    assert got["errors_is_stderr"] is True
    assert got["input_terminated"] is True
    assert got["client_disconnected"] is False
    assert got["query"] == "a=%C3%A4"
    # Header bytes arrive decoded as latin-1 (PEP 3333 native strings).
    assert got["x_latin"] == "caf\xe9"
    for key in ["REQUEST_METHOD", "PATH_INFO", "SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "CONTENT_LENGTH"]:
        assert got["types"][key] == "str", key
    assert got["types"]["wsgi.file_wrapper"] == "type"
    assert got["types"]["wsgi.version"] == "tuple"


def test_client_disconnected_turns_true_when_the_client_closes(start_server, transport):
    # With channel_request_lookahead the socket is read while the app runs, so a client that
    # closes is seen at once (waitress: `not channel.connected`).
    s = start_server("--channel-request-lookahead", "1", "fixtureapps.pep3333:app", unix=transport == "unix")
    sock = s.connect()
    sock.sendall(b"GET /watch_client HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.wait_for_log("watching the client")
    sock.close()
    assert s.wait_for_log("client_disconnected\\(\\) is True"), s.log()


def test_client_disconnected_stays_false_while_the_client_waits(start_server):
    s = start_server("--channel-request-lookahead", "1", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    sock.sendall(b"GET /watch_client?0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
    # The app watches for half a second and answers; the client is there all along.
    line, headers, body = read_http(fp)
    assert json.loads(body) == {"disconnected": False}
    # Printed before the answer, but read from the server's stderr on the fixture's own time.
    assert s.wait_for_log(r"client_disconnected\(\) is False"), s.log()
    sock.close()


def test_path_info_is_latin1_decoded(conn):
    line, headers, body = conn.request(b"/environ/%C3%A4")
    assert json.loads(body)["path_info"] == "/environ/\xc3\xa4"


def test_input_readline_readlines(conn):
    line, headers, body = conn.request(b"/readline", b"first line\nsecond\nthird\nfourth")
    got = json.loads(body)
    assert got == {"first": "first line\n", "limited": "sec", "rest": ["ond\n", "third\n", "fourth"], "after": ""}


def test_input_read_with_a_huge_size(conn):
    line, headers, body = conn.request(b"/read_huge", b"small body")
    assert json.loads(body) == {"got": "small body", "again": ""}


def test_input_iteration(conn):
    line, headers, body = conn.request(b"/iterate", b"a\nbb\n\nccc")
    assert json.loads(body) == {"lines": ["a\n", "bb\n", "\n", "ccc"]}


@pytest.mark.parametrize("size", [0, 999, 1000, 2500])
def test_input_read_in_parts(conn, size):
    line, headers, body = conn.request(b"/read_chunks", b"x" * size)
    parts = json.loads(body)["parts"]
    assert sum(parts) == size
    assert all(p == 1000 for p in parts[:-1])


def test_input_spooled_to_a_file(start_server):
    # Past inbuf_overflow the body is in a temp file; wsgi.input reads it the same way.
    s = start_server("--inbuf-overflow", "1000", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    data = b"".join(b"line %d\n" % i for i in range(2000))
    sock.sendall(b"POST /iterate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
    line, headers, body = read_http(fp)
    assert json.loads(body)["lines"] == [l + "\n" for l in data.decode().split("\n")[:-1]]
    sock.close()


SEEK_BODY = b"abcdef\nsecond line\n"


def check_seek(got):
    assert got == {
        "head": "abc",
        "tell": 3,
        "seekable": True,
        "rewound_to": 0,
        "all": SEEK_BODY.decode(),
        "tail": "e\n",
        "tell_after_relative": 3,
        "readinto": [4, "abcd"],
        "line_after_readinto": "ef\n",
        "past_end": ["", 0],
        "negative": "negative seek value -1",
    }


def test_input_seeks_and_reads_into_buffers(conn):
    line, headers, body = conn.request(b"/seek", SEEK_BODY)
    check_seek(json.loads(body))


def test_file_wrapper_of_a_seekable_object_has_a_known_length(conn):
    line, headers, body = conn.request(b"/fw_bytesio", b"")
    assert line == b"HTTP/1.1 200 OK\r\n"
    assert headers.get("content-length") == str(256 * 300 - 100), headers
    assert "transfer-encoding" not in headers, headers
    assert body == (bytes(range(256)) * 300)[100:]


def test_the_app_runs_on_threads_named_as_waitress_names_them(conn):
    # An app's own log records show %(threadName)s: waitress-0, not Dummy-1.
    line, headers, body = conn.request(b"/thread", b"")
    assert json.loads(body)["name"].startswith("waitress-"), body


def test_readinto_fills_any_buffer_and_keeps_nothing(conn):
    # An array of ints takes the bytes into its memory (16 of them), as BytesIO does; 3000
    # reads of 600 bytes leave no objects behind (a leak was one int object a call).
    body = b"0123456789abcdef" + b"x" * 1000
    line, headers, body = conn.request(b"/readinto_many", body)
    got = json.loads(body)
    assert got["typed"] == [16, "0123456789abcdef"]
    assert got["grown"] < 300, got


def test_input_seeks_when_spooled_to_a_file(start_server):
    s = start_server("--inbuf-overflow", "4", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    sock.sendall(b"POST /seek HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(SEEK_BODY), SEEK_BODY))
    line, headers, body = read_http(fp)
    check_seek(json.loads(body))
    sock.close()


def _deleted_but_open(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += "(deleted)" in os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass  # closed meanwhile
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_input_is_closed_when_the_request_is_done(start_server):
    # As waitress closes the body's file after the request: an environ the app keeps does not
    # keep the body's temp file open (nor its memory), and reads of it fail as on a closed file.
    s = start_server("--inbuf-overflow", "1000", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    for _ in range(3):
        sock.sendall(b"POST /keep_input HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
        line, headers, body = read_http(fp)
        assert line == b"HTTP/1.1 200 OK\r\n", body
    # The last response may reach the client just before its request's body is closed.
    deadline = time.monotonic() + 5
    while _deleted_but_open(s.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _deleted_but_open(s.proc.pid) == 0
    sock.sendall(b"POST /read_kept HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    line, headers, body = read_http(fp)
    assert json.loads(body) == {"reads": ["I/O operation on closed file."] * 3}
    sock.close()


def test_exc_info_before_the_body_replaces_status_and_headers(conn):
    line, headers, body = conn.request(b"/exc_info")
    assert line == b"HTTP/1.1 503 Service Unavailable\r\n"
    assert "x-a" not in headers
    assert headers["x-b"] == "2"
    assert body == b"sorry"


def test_exc_info_after_the_body_reraises_and_cuts_the_response(server):
    sock = server.connect()
    sock.sendall(b"GET /exc_info_late HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        raw += data
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Transfer-Encoding: chunked" in head
    # The head and "partial" went out; the error cuts the response short (no last chunk).
    assert body == b"7\r\npartial\r\n"
    assert server.wait_for_log(r"ValueError: too late")


@pytest.mark.parametrize(
    "path, logged",
    [
        (b"/twice", "start_response called a second time without providing exc_info."),
        (b"/bad_status", "status \"OK\" is not a code from 100 to 599"),
        (b"/status_999", "status \"999 Weird\" is not a code from 100 to 599"),
        (b"/status_not_str", "status 200 is not a string"),
        (b"/crlf_header", "carriage return/line feed character present in header value"),
        (b"/hop_by_hop", "Connection is a \"hop-by-hop\" header"),
        (b"/header_not_str", "Header value 1 is not a string in ('X-A', 1)"),
        (b"/str_body", "bytes are required"),
        (b"/no_start_response", "RuntimeError: start_response was not called before body written"),
    ],
)
def test_bad_responses_are_500_and_logged(conn, server, path, logged):
    line, headers, body = conn.request(path)
    assert line == b"HTTP/1.1 500 Internal Server Error\r\n"
    assert b"X-Injected" not in body
    assert "x-injected" not in headers
    conn.closed()
    assert server.wait_for_log(r"ERROR:waitress:Exception while serving " + path.decode())
    assert logged in server.log()


def test_write_then_iterable(conn):
    line, headers, body = conn.request(b"/write_then_iter")
    assert line == b"HTTP/1.1 200 OK\r\n"
    assert dechunk(body) == b"written;iterated"


def test_close_is_always_called(start_server):
    s = start_server("--threads", "1", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)

    def get(path):
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
        return read_http(fp)

    assert dechunk(get(b"/closing")[2]) == b"abc"
    assert json.loads(get(b"/closed_count")[2]) == {"closed": 1}
    line, headers, body = get(b"/closing_fails")
    assert line == b"HTTP/1.1 500 Internal Server Error\r\n"
    sock.close()
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    assert json.loads(get(b"/closed_count")[2]) == {"closed": 2}
    sock.close()


@pytest.mark.parametrize(
    "path, want_headers, want_body",
    [
        # Compatibility table: the length of an empty body is known, so it is sent.
        (b"/empty_list", {"content-length": "0"}, b""),
        (b"/empty_part", {"content-length": "0"}, b""),
        (b"/generator", {"transfer-encoding": "chunked"}, b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"),
    ],
)
def test_body_shapes(conn, path, want_headers, want_body):
    line, headers, body = conn.request(path)
    assert line == b"HTTP/1.1 200 OK\r\n"
    for k, v in want_headers.items():
        assert headers[k] == v
    assert body == want_body
    # ... and the connection is kept.
    assert conn.request(b"/empty_part")[0] == b"HTTP/1.1 200 OK\r\n"


def test_worker_threads_keep_their_thread_locals(start_server):
    # Each worker is one long-lived Python thread state: threading.local() survives.
    s = start_server("--threads", "1", "fixtureapps.pep3333:app")
    sock = s.connect()
    fp = sock.makefile("rb", 0)
    seen = []
    for _ in range(3):
        sock.sendall(b"GET /threadlocal HTTP/1.1\r\nHost: x\r\n\r\n")
        seen.append(json.loads(read_http(fp)[2]))
    sock.close()
    assert [s["n"] for s in seen] == [1, 2, 3]
    assert len({s["thread"] for s in seen}) == 1


def test_threads_setting_bounds_the_worker_threads(start_server):
    s = start_server("--threads", "3", "fixtureapps.pep3333:app")
    threads = set()
    counts = []
    for _ in range(30):
        sock = s.connect()
        fp = sock.makefile("rb", 0)
        sock.sendall(b"GET /threadlocal HTTP/1.0\r\n\r\n")
        got = json.loads(read_http(fp)[2])
        threads.add(got["thread"])
        counts.append(got["n"])
        sock.close()
    assert 1 <= len(threads) <= 3
    assert max(counts) >= 10


def test_file_wrapper_can_be_seeked_by_middleware(conn):
    # waitress 2.1.0: the wrapper has its file's seek, tell and seekable, so a Range request
    # is answered by seeking (without them Werkzeug reads the file up to the range); the body
    # then goes out from where the wrapper was seeked to.
    line, headers, body = conn.request(b"/fw_seek")
    assert line == b"HTTP/1.1 206 Partial Content\r\n", body
    assert headers["content-length"] == "1000"
    assert body == (b"0123456789" * 10000)[99000:]


def test_file_wrapper_sends_regular_files_with_sendfile(conn):
    # read() of this file raises: the body can only have gone out through sendfile, from the
    # file's current position (3), with the length known.
    line, headers, body = conn.request(b"/sendfile")
    assert line == b"HTTP/1.1 200 OK\r\n"
    assert headers["content-length"] == str(100000 - 3)
    assert body == (b"0123456789" * 10000)[3:]
    assert json.loads(conn.request(b"/closed_count")[2])["closed"] >= 1
