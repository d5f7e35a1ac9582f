"""waitress's functional tests (tests/test_functional.py), against waitress-rs serving the
same fixture apps over loopback TCP and a Unix socket.

Where the design's compatibility table says waitress-rs differs on purpose, the test asserts
waitress-rs's documented behaviour and says which row applies.
"""

import json
import os
import string
import time

import pytest

from conftest import Server
from httpclient import ConnectionClosed, assert_closed, dechunk, read_http


def served(app, *args, transports=("tcp", "unix")):
    @pytest.fixture(scope="module", params=transports)
    def fixture(request):
        server = Server(list(args) + [app], unix=request.param == "unix")
        yield server
        server.stop()

    return fixture


echo_server = served(
    "fixtureapps.echo:app",
    "--trusted-proxy=*",
    "--trusted-proxy-count=1",
    "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto",
    "--clear-untrusted-proxy-headers",
)
body_only_server = served("fixtureapps.echo:app_body_only")
badcl_server = served("fixtureapps.badcl:app")
nocl_server = served("fixtureapps.nocl:app")
writecb_server = served("fixtureapps.writecb:app")
toolarge_server = served(
    "fixtureapps.toolarge:app",
    "--max-request-header-size=1000",
    "--max-request-body-size=1000",
)
error_server = served("fixtureapps.error:app", "--expose-tracebacks")
error_tb_server = served("fixtureapps.error_traceback:app", "--expose-tracebacks")
error_hidden_server = served("fixtureapps.error:app")
filewrapper_server = served("fixtureapps.filewrapper:app")
sleepy_server = served("fixtureapps.sleepy:app")


class Conn:
    def __init__(self, server):
        self.sock = server.connect()
        self.fp = self.sock.makefile("rb", 0)

    def send(self, data):
        self.sock.sendall(data)

    def read(self):
        return read_http(self.fp)

    def assert_closed(self):
        assert_closed(self.sock, self.fp)

    def close(self):
        self.fp.close()
        self.sock.close()


@pytest.fixture
def conn_to():
    opened = []

    def connect(server):
        conn = Conn(server)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def echo_json(body):
    meta, _, rest = body.partition(b"\r\n\r\n")
    return json.loads(meta), rest


# ---------------------------------------------------------------------------- EchoTests


class TestEcho:
    def test_date_and_server(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        assert headers["server"] == "waitress"
        assert headers["date"]

    def test_bad_host_header(self, echo_server, conn_to):
        # A header line starting with a space is obs-fold: 400 in both servers.
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\n Host: 0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 400 Bad Request\r\n"
        assert headers["server"] == "waitress"
        assert headers["date"]

    def test_send_with_body(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        meta, rest = echo_json(body)
        assert meta["content_length"] == "5"
        assert rest == b"hello"

    def test_send_empty_body(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        line, headers, body = c.read()
        meta, rest = echo_json(body)
        assert meta["content_length"] == "0"
        assert rest == b""

    def test_multiple_requests_with_and_without_body(self, echo_server, conn_to):
        for _ in range(3):
            for req, want in [
                (b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
                (b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", b""),
            ]:
                c = conn_to(echo_server)
                c.send(req)
                line, headers, body = c.read()
                assert line == b"HTTP/1.0 200 OK\r\n"
                assert echo_json(body)[1] == want

    def test_without_crlf(self, echo_server, conn_to):
        data = b"Echo\r\nthis\r\nplease"
        c = conn_to(echo_server)
        c.send(
            b"GET / HTTP/1.0\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(data), data)
        )
        line, headers, body = c.read()
        meta, rest = echo_json(body)
        assert meta["content_length"] == str(len(data))
        assert rest == data

    def test_large_body(self, echo_server, conn_to):
        data = b"This string has 32 characters.\r\n" * 32
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
        line, headers, body = c.read()
        meta, rest = echo_json(body)
        assert meta["content_length"] == "1024"
        assert rest == data

    def test_many_clients(self, echo_server, conn_to):
        conns = [conn_to(echo_server) for _ in range(50)]
        for c in conns:
            c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n")
        for c in conns:
            line, headers, body = c.read()
            assert line == b"HTTP/1.1 200 OK\r\n"

    def test_chunking_request_without_content(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(b"0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 200 OK\r\n"
        meta, rest = echo_json(body)
        assert rest == b""
        assert meta["content_length"] == "0"
        assert "TRANSFER_ENCODING" not in meta["headers"]

    def test_chunking_request_with_content(self, echo_server, conn_to):
        control_line = b"20\r\n"
        s = b"This string has 32 characters.\r\n"
        expected = s * 12
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(12):
            c.send(control_line + s + b"\r\n")
        c.send(b"0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 200 OK\r\n"
        meta, rest = echo_json(body)
        assert rest == expected
        assert meta["content_length"] == "384"
        assert "TRANSFER_ENCODING" not in meta["headers"]

    @pytest.mark.parametrize(
        "tail, detail",
        [
            (b"20\r\nThis string has 32 characters.\r\n\r\ngarbage\r\n", None),
            (b"0x20\r\nThis string has 32 characters.\r\n\r\n0\r\n\r\n", b"Invalid chunk size"),
            (b"20;invalid=\r\nThis string has 32 characters.\r\n\r\n0\r\n\r\n", b"Invalid chunk extension"),
            (b"20\r\nThis string has 32 characters.\r\ngarbage", b"Chunk not properly terminated"),
        ],
    )
    def test_broken_chunked_encoding(self, echo_server, conn_to, tail, detail):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + tail)
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 400 Bad Request\r\n"
        assert int(headers["content-length"]) == len(body)
        assert sorted(headers) == ["connection", "content-length", "content-type", "date", "server"]
        assert headers["content-type"] == "text/plain; charset=utf-8"
        if detail:
            assert detail in body
        c.assert_closed()

    def test_keepalive_http_10(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        assert headers.get("connection") != "Keep-Alive"

    def test_keepalive_http10_explicit(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 5\r\n\r\nhello")
        line, headers, body = c.read()
        assert headers["connection"] == "Keep-Alive"

    def test_keepalive_http_11(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        line, headers, body = c.read()
        assert headers.get("connection") != "close"

    def test_keepalive_http11_connclose(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
        line, headers, body = c.read()
        assert headers["connection"] == "close"
        c.assert_closed()

    def test_proxy_headers(self, echo_server, conn_to):
        c = conn_to(echo_server)
        c.send(
            b"GET / HTTP/1.0\r\nContent-Length: 0\r\nHost: www.google.com:8080\r\n"
            b"X-Forwarded-For: 192.168.1.1\r\nX-Forwarded-Proto: https\r\n"
            b"X-Forwarded-Port: 5000\r\n\r\n"
        )
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        meta, _ = echo_json(body)
        assert "X_FORWARDED_PORT" not in meta["headers"]
        assert meta["headers"]["HOST"] == "www.google.com:8080"
        assert meta["scheme"] == "https"
        assert meta["remote_addr"] == "192.168.1.1"
        assert meta["remote_host"] == "192.168.1.1"


# ---------------------------------------------------------------------------- Pipelining


def test_pipelining(body_only_server, conn_to):
    s = b"GET / HTTP/1.0\r\nConnection: %s\r\nContent-Length: %d\r\n\r\n%s"
    to_send = b""
    count = 25
    for n in range(count):
        body = b"Response #%d\r\n" % (n + 1)
        to_send += s % (b"keep-alive" if n < count - 1 else b"close", len(body), body)
    c = conn_to(body_only_server)
    c.send(to_send)
    for n in range(count):
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        want = b"Response #%d\r\n" % (n + 1)
        assert headers["content-length"] == str(len(want))
        assert body == want


# ---------------------------------------------------------------------------- Expect


def test_expect_continue(body_only_server, conn_to):
    data = b"I have expectations"
    c = conn_to(body_only_server)
    c.send(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n"
        b"Expect: 100-continue\r\n\r\n%s" % (len(data), data)
    )
    assert c.fp.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert c.fp.readline() == b"\r\n"
    line, headers, body = c.read()
    assert line == b"HTTP/1.1 200 OK\r\n"
    assert headers["content-length"] == str(len(data))
    assert body == data


def test_expect_continue_without_body(body_only_server, conn_to):
    # Compatibility table: `Expect: 100-continue` with no body gets no 100; it is answered.
    c = conn_to(body_only_server)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
    line, headers, body = c.read()
    assert line == b"HTTP/1.1 200 OK\r\n"


# ---------------------------------------------------------------------------- BadContentLength


class TestBadContentLength:
    def test_short_body(self, badcl_server, conn_to):
        c = conn_to(badcl_server)
        c.send(b"GET /short_body HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        assert int(headers["content-length"]) == 10
        assert body == b"abcdefghi"
        c.assert_closed()

    def test_long_body(self, badcl_server, conn_to):
        c = conn_to(badcl_server)
        req = b"GET /long_body HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
        c.send(req)
        line, headers, body = c.read()
        assert int(headers["content-length"]) == 8
        assert body == b"abcdefgh"
        c.send(req)
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"


# ---------------------------------------------------------------------------- NoContentLength


LETTERS = string.ascii_letters.encode()


class TestNoContentLength:
    def req(self, path, version):
        extra = b"Connection: Keep-Alive\r\n" if version == b"1.0" else b"Host: x\r\n"
        return b"GET %s HTTP/%s\r\n%sContent-Length: %d\r\n\r\n%s" % (
            path, version, extra, len(LETTERS), LETTERS)

    def test_http10_generator(self, nocl_server, conn_to):
        c = conn_to(nocl_server)
        c.send(self.req(b"/", b"1.0"))
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 200 OK\r\n"
        assert "content-length" not in headers
        assert headers["connection"] == "close"
        assert body == LETTERS
        c.assert_closed()

    def test_http10_list(self, nocl_server, conn_to):
        c = conn_to(nocl_server)
        c.send(self.req(b"/list", b"1.0"))
        line, headers, body = c.read()
        assert headers["content-length"] == str(len(LETTERS))
        assert headers["connection"] == "Keep-Alive"
        assert body == LETTERS
        c.send(self.req(b"/list", b"1.0"))
        assert c.read()[0] == b"HTTP/1.0 200 OK\r\n"

    def test_http10_iterable_with_len_one(self, nocl_server, conn_to):
        # waitress asks len() of any result that has __len__, not only of lists.
        c = conn_to(nocl_server)
        c.send(self.req(b"/sized", b"1.0"))
        line, headers, body = c.read()
        assert headers["content-length"] == str(len(LETTERS))
        assert body == LETTERS

    def test_http10_listlentwo(self, nocl_server, conn_to):
        c = conn_to(nocl_server)
        c.send(self.req(b"/list_lentwo", b"1.0"))
        line, headers, body = c.read()
        assert "content-length" not in headers
        assert headers["connection"] == "close"
        assert body == LETTERS
        c.assert_closed()

    def test_http11_generator(self, nocl_server, conn_to):
        # Compatibility table: HTTP/1.1 without a known length is chunked and the
        # connection is kept (waitress closes it).
        c = conn_to(nocl_server)
        c.send(self.req(b"/", b"1.1"))
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 200 OK\r\n"
        expected = b""
        for chunk in [LETTERS[i : i + 10] for i in range(0, len(LETTERS), 10)]:
            expected += b"%X\r\n%s\r\n" % (len(chunk), chunk)
        expected += b"0\r\n\r\n"
        assert body == expected
        c.send(self.req(b"/list", b"1.1"))
        assert c.read()[0] == b"HTTP/1.1 200 OK\r\n"

    def test_http11_list(self, nocl_server, conn_to):
        c = conn_to(nocl_server)
        c.send(self.req(b"/list", b"1.1"))
        line, headers, body = c.read()
        assert headers["content-length"] == str(len(LETTERS))
        assert body == LETTERS
        c.send(self.req(b"/list", b"1.1"))
        assert c.read()[0] == b"HTTP/1.1 200 OK\r\n"

    def test_http11_listlentwo(self, nocl_server, conn_to):
        c = conn_to(nocl_server)
        c.send(self.req(b"/list_lentwo", b"1.1"))
        line, headers, body = c.read()
        assert body == b"1\r\na\r\n33\r\n" + LETTERS[1:] + b"\r\n0\r\n\r\n"
        c.send(self.req(b"/list", b"1.1"))
        assert c.read()[0] == b"HTTP/1.1 200 OK\r\n"


# ---------------------------------------------------------------------------- WriteCallback


class TestWriteCallback:
    def req(self, path):
        return b"GET %s HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n" % path

    def test_short_body(self, writecb_server, conn_to):
        c = conn_to(writecb_server)
        c.send(self.req(b"/short_body"))
        line, headers, body = c.read()
        assert headers["content-length"] == "9"
        assert body == b"abcdefgh"
        c.assert_closed()

    def test_long_body(self, writecb_server, conn_to):
        c = conn_to(writecb_server)
        c.send(self.req(b"/long_body"))
        line, headers, body = c.read()
        assert headers["content-length"] == "9"
        assert body == b"abcdefghi"
        c.send(self.req(b"/long_body"))
        assert c.read()[0] == b"HTTP/1.0 200 OK\r\n"

    def test_equal_body(self, writecb_server, conn_to):
        c = conn_to(writecb_server)
        c.send(self.req(b"/equal_body"))
        line, headers, body = c.read()
        assert headers["content-length"] == "9"
        assert body == b"abcdefghi"
        c.send(self.req(b"/equal_body"))
        assert c.read()[0] == b"HTTP/1.0 200 OK\r\n"

    def test_no_content_length(self, writecb_server, conn_to):
        c = conn_to(writecb_server)
        c.send(self.req(b"/no_content_length"))
        line, headers, body = c.read()
        assert "content-length" not in headers
        assert body == b"abcdefghi"
        c.assert_closed()


# ---------------------------------------------------------------------------- TooLarge


class TestTooLarge:
    toobig = 1050

    def test_request_headers_too_large_http11(self, toolarge_server, conn_to):
        c = conn_to(toolarge_server)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + b"X-Random-Header: 100\r\n" * 52 + b"\r\n")
        line, headers, body = c.read()
        assert line.split(b" ", 2)[1] == b"431"
        assert headers["connection"] == "close"
        c.assert_closed()

    @pytest.mark.parametrize(
        "head, keeps_reading",
        [
            (b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", False),
            (b"GET / HTTP/1.0\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\n", True),
            (b"GET / HTTP/1.0\r\n\r\n", False),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", True),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", True),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", False),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
            (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
        ],
    )
    def test_request_body_too_large(self, toolarge_server, conn_to, head, keeps_reading):
        c = conn_to(toolarge_server)
        c.send(head + b"a" * self.toobig)
        line, headers, body = c.read()
        assert line.split(b" ", 2)[1] == b"200"
        assert body == b"abcdef"
        if keeps_reading:
            # The leftover bytes are read as the next request's head: too large, or bad.
            line, headers, body = c.read()
            assert line.split(b" ", 2)[1] in (b"431", b"400")
        c.assert_closed()

    def test_request_body_too_large_chunked_encoding(self, toolarge_server, conn_to):
        c = conn_to(toolarge_server)
        c.send(
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"20\r\nThis string has 32 characters.\r\n\r\n" * 40
        )
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 413 Request Entity Too Large\r\n"
        assert int(headers["content-length"]) == len(body)
        assert headers["content-type"] == "text/plain; charset=utf-8"
        c.assert_closed()


# ---------------------------------------------------------------------------- InternalServerError


class TestInternalServerError:
    @pytest.mark.parametrize("path", [b"/before_start_response", b"/after_start_response"])
    def test_http10(self, error_server, conn_to, path):
        c = conn_to(error_server)
        c.send(b"GET %s HTTP/1.0\r\nContent-Length: 0\r\n\r\n" % path)
        line, headers, body = c.read()
        assert line == b"HTTP/1.0 500 Internal Server Error\r\n"
        assert int(headers["content-length"]) == len(body)
        assert body.startswith(b"Internal Server Error")
        assert b"ValueError: wrong" in body  # expose_tracebacks
        # ... with the stack, as waitress shows it (lost on 3.11 before the traceback was
        # passed to format_exception on its own).
        assert b"Traceback (most recent call last):" in body
        assert b'error.py", line' in body
        assert headers["connection"] == "close"
        c.assert_closed()

    @pytest.mark.parametrize("path", [b"/before_start_response", b"/after_start_response"])
    @pytest.mark.parametrize("close", [b"", b"Connection: close\r\n"])
    def test_http11(self, error_server, conn_to, path, close):
        c = conn_to(error_server)
        c.send(b"GET %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: 0\r\n\r\n" % (path, close))
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 500 Internal Server Error\r\n"
        assert sorted(headers) == ["connection", "content-length", "content-type", "date", "server"]
        assert headers["connection"] == "close"
        c.assert_closed()

    @pytest.mark.parametrize("path", [b"/before_start_response", b"/in_generator"])
    def test_head_gets_the_headers_without_the_page(self, error_server, conn_to, path):
        # RFC 9110 §9.3.2: no content in a response to HEAD, error pages included (waitress
        # sends the page).
        c = conn_to(error_server)
        c.send(b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
        got = b""
        while chunk := c.fp.read(65536):
            got += chunk
        head, sep, rest = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), got
        assert sep and rest == b"", got
        assert b"Content-Length: " in head

    @pytest.mark.parametrize("path", [b"/after_write_cb", b"/in_generator"])
    def test_str_instead_of_bytes(self, error_server, conn_to, path):
        # waitress sends "200 OK" and an empty body here (the str is cut to the
        # Content-Length of 0); waitress-rs refuses the str and answers 500.
        c = conn_to(error_server)
        c.send(b"GET %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % path)
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 500 Internal Server Error\r\n"
        assert b"bytes are required" in body
        c.assert_closed()
        assert error_server.wait_for_log(r"ERROR:waitress:Exception while serving " + path.decode())

    def test_without_tracebacks(self, error_hidden_server, conn_to):
        c = conn_to(error_hidden_server)
        c.send(b"GET /before_start_response HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        line, headers, body = c.read()
        assert line == b"HTTP/1.1 500 Internal Server Error\r\n"
        assert body.startswith(b"Internal Server Error")
        assert b"ValueError" not in body
        assert b"unexpected internal server error" in body
        # ... but the traceback is logged, under the message as waitress's logger.exception
        # puts it.
        assert error_hidden_server.wait_for_log(r"ValueError: wrong")
        assert (
            "ERROR:waitress:Exception while serving /before_start_response\n"
            "Traceback (most recent call last):\n"
        ) in error_hidden_server.log()
        assert 'error.py", line' in error_hidden_server.log()


class TestInternalServerErrorWithTraceback:
    @pytest.mark.parametrize("version", [b"1.0", b"1.1"])
    def test_traceback(self, error_tb_server, conn_to, version):
        c = conn_to(error_tb_server)
        c.send(b"GET / HTTP/%s\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % version)
        line, headers, body = c.read()
        assert line == b"HTTP/%s 500 Internal Server Error\r\n" % version
        assert int(headers["content-length"]) == len(body)
        assert body.startswith(b"Internal Server Error")
        assert "Invalid application: \u20ac".encode() in body
        c.assert_closed()


# ---------------------------------------------------------------------------- FileWrapper


def jpeg_bytes():
    path = os.path.join(os.environ["WAITRESS_RS_TEST_TMP"], "groundhog1.jpg")
    with open(path, "rb") as f:
        return f.read()


class TestFileWrapper:
    def get(self, c, path, version=b"1.1"):
        c.send(b"GET %s HTTP/%s\r\nHost: x\r\n\r\n" % (path, version))
        return c.read()

    @pytest.mark.parametrize(
        "path",
        [b"/filelike", b"/filelike_nocl", b"/filelike_longcl", b"/notfilelike", b"/notfilelike_iobase"],
    )
    def test_full_file_twice_on_one_connection(self, filewrapper_server, conn_to, path):
        c = conn_to(filewrapper_server)
        for _ in range(2):
            line, headers, body = self.get(c, path)
            assert line == b"HTTP/1.1 200 OK\r\n"
            assert int(headers["content-length"]) == len(body)
            assert headers["content-type"] == "image/jpeg"
            assert b"\377\330\377" in body
            assert body == jpeg_bytes()

    @pytest.mark.parametrize("path", [b"/filelike_shortcl", b"/notfilelike_shortcl"])
    def test_short_content_length(self, filewrapper_server, conn_to, path):
        c = conn_to(filewrapper_server)
        for _ in range(2):
            line, headers, body = self.get(c, path)
            assert headers["content-length"] == "1"
            assert body == b"\377"

    def test_notfilelike_nocl_http11(self, filewrapper_server, conn_to):
        # Compatibility table: unknown length on HTTP/1.1 is chunked, connection kept.
        c = conn_to(filewrapper_server)
        line, headers, body = self.get(c, b"/notfilelike_nocl")
        assert "content-length" not in headers
        assert headers["transfer-encoding"] == "chunked"
        assert dechunk(body) == jpeg_bytes()
        line, headers, body = self.get(c, b"/filelike")
        assert body == jpeg_bytes()

    def test_notfilelike_longcl(self, filewrapper_server, conn_to):
        c = conn_to(filewrapper_server)
        c.send(b"GET /notfilelike_longcl HTTP/1.1\r\nHost: x\r\n\r\n")
        line = c.fp.readline()
        headers = {}
        while True:
            h = c.fp.readline()
            if h == b"\r\n":
                break
            k, v = h.decode().rstrip("\r\n").split(": ", 1)
            headers[k.lower()] = v
        assert int(headers["content-length"]) == len(jpeg_bytes()) + 10
        assert c.fp.read() == jpeg_bytes()  # then the server closes
        c.assert_closed()

    @pytest.mark.parametrize("path", [b"/filelike", b"/filelike_nocl", b"/notfilelike"])
    def test_http10(self, filewrapper_server, conn_to, path):
        c = conn_to(filewrapper_server)
        line, headers, body = self.get(c, path, b"1.0")
        assert int(headers["content-length"]) == len(body) == len(jpeg_bytes())
        c.assert_closed()

    def test_http10_notfilelike_nocl(self, filewrapper_server, conn_to):
        c = conn_to(filewrapper_server)
        line, headers, body = self.get(c, b"/notfilelike_nocl", b"1.0")
        assert body == jpeg_bytes()
        c.assert_closed()


# ---------------------------------------------------------------------------- Sleepy


def test_sleepy_requests_run_concurrently(sleepy_server, conn_to):
    slow = conn_to(sleepy_server)
    fast = conn_to(sleepy_server)
    start = time.monotonic()
    slow.send(b"GET /sleepy HTTP/1.0\r\n\r\n")
    time.sleep(0.2)
    fast.send(b"GET / HTTP/1.0\r\n\r\n")
    got = [fast.read()[2]]
    fast_done = time.monotonic() - start
    got.append(slow.read()[2])
    assert b"".join(got) == b"notsleepy returnedsleepy returned"
    assert fast_done < 1.5
