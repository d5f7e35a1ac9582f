"""Reading raw HTTP/1.x responses, after waitress's own test helper (`read_http`), plus
chunked bodies (waitress-rs keeps HTTP/1.1 connections open after chunked responses)."""

import errno
import socket


class ConnectionClosed(Exception):
    pass


def read_http(fp):
    """Returns (status line, headers dict, body); asserts no header appears twice."""
    try:
        response_line = fp.readline()
    except OSError as exc:
        if exc.errno in (errno.ECONNABORTED, errno.ECONNRESET, errno.EPIPE):
            raise ConnectionClosed
        raise
    if not response_line:
        raise ConnectionClosed
    header_lines = []
    while True:
        line = fp.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        header_lines.append(line)
    headers = {}
    for x in header_lines:
        x = x.strip()
        if not x:
            continue
        key, value = x.split(b": ", 1)
        key = key.decode("latin-1").lower()
        value = value.decode("latin-1")
        assert key not in headers, "%s header duplicated" % key
        headers[key] = value
    if response_line.split(b" ", 2)[1:2] in ([b"100"], [b"204"], [b"304"]):
        body = b""
    elif "content-length" in headers:
        num = int(headers["content-length"])
        body = b""
        left = num
        while left > 0:
            data = fp.read(left)
            if not data:
                break
            body += data
            left -= len(data)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = read_chunked(fp)
    else:
        body = fp.read()
    return response_line, headers, body


def read_chunked(fp):
    """The raw chunked body, up to and including the last chunk and its CRLF."""
    raw = b""
    while True:
        size_line = fp.readline()
        raw += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:
                line = fp.readline()
                raw += line
                if line in (b"\r\n", b""):
                    return raw
        raw += read_exactly(fp, size + 2)


def read_exactly(fp, n):
    """n bytes, or fewer at EOF (a raw socket file may return short reads)."""
    out = b""
    while len(out) < n:
        data = fp.read(n - len(out))
        if not data:
            break
        out += data
    return out


def dechunk(raw):
    out = b""
    while True:
        line, raw = raw.split(b"\r\n", 1)
        size = int(line, 16)
        if size == 0:
            return out
        out += raw[:size]
        raw = raw[size + 2 :]


def assert_closed(sock, fp):
    """The server closed the connection: a further request gets EOF or a reset."""
    try:
        sock.send(b"GET / HTTP/1.0\r\n\r\n")
    except OSError:
        return
    try:
        line = fp.readline()
    except (OSError, socket.timeout) as exc:
        if isinstance(exc, socket.timeout):
            raise AssertionError("connection still open") from None
        return
    assert line == b"", "connection still open: %r" % line
