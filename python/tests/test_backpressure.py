"""A client that stops reading a large response pauses only its own request: the worker
serving it waits for the client (the high-water mark) with the GIL released, so the other
workers still run Python. These tests fail if a body write that waits keeps the GIL (checked
by making every write keep it: the small request then times out)."""

import socket
import time

import pytest

from httpclient import read_http

# Far more than the kernel's socket buffers on loopback hold, against a small high-water mark,
# so the slow response really is waiting for its client.
HIGH_WATERMARK = 65536
SLOW_BYTES = 24 << 20
PART = 4096
# The small request must be answered well before the slow client reads anything.
FAST_DEADLINE = 3.0


def small_rcvbuf_conn(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(30)
    s.connect(server.addr)
    return s


@pytest.fixture(scope="module")
def server():
    from conftest import Server

    srv = Server(
        [
            "--threads=2",
            f"--outbuf-high-watermark={HIGH_WATERMARK}",
            "fixtureapps.slowreader:app",
        ]
    )
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "target, length",
    [
        (f"/parts?{SLOW_BYTES // PART}", SLOW_BYTES),
        (f"/write?{SLOW_BYTES // PART}", SLOW_BYTES),
        (f"/one?{SLOW_BYTES}", SLOW_BYTES),
    ],
)
def test_slow_reader_does_not_stall_other_requests(server, target, length):
    slow = small_rcvbuf_conn(server)
    fast = small_rcvbuf_conn(server)
    try:
        slow.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        # Let the slow response fill the socket buffers and reach the high-water mark.
        time.sleep(0.5)
        start = time.monotonic()
        fast_fp = fast.makefile("rb", 0)
        for _ in range(3):
            fast.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            line, _, body = read_http(fast_fp)
            assert line.startswith(b"HTTP/1.1 200") and body == b"ok"
        assert time.monotonic() - start < FAST_DEADLINE
        # The slow client now reads everything: nothing was lost while it waited.
        slow_fp = slow.makefile("rb", 0)
        line, headers, body = read_http(slow_fp)
        assert line.startswith(b"HTTP/1.1 200")
        assert int(headers["content-length"]) == length
        assert len(body) == length
        # The connection is still usable.
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_http(slow_fp)[2] == b"ok"
    finally:
        slow.close()
        fast.close()
