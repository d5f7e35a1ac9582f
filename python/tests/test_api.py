"""waitress_rs.serve / serve_paste / check from Python: keyword conversions, errors as
ValueError, and stopping cleanly on SIGINT and SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

import waitress_rs
from conftest import HERE, Server
from httpclient import read_http


def test_strings_ints_and_bools_give_the_same_settings():
    from_ini = waitress_rs.check(
        host="127.0.0.1", port="8081", threads="8", ipv6="false", expose_tracebacks="yes",
        trusted_proxy="127.0.0.1", trusted_proxy_headers="\nx-forwarded-for\nx-forwarded-proto",
        url_prefix="//pre//", channel_timeout="2m",
    )
    from_code = waitress_rs.check(
        host="127.0.0.1", port=8081, threads=8, ipv6=False, expose_tracebacks=True,
        trusted_proxy="127.0.0.1", trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-for"},
        url_prefix="/pre", channel_timeout=120,
    )
    assert from_ini == from_code
    assert "threads = 8" in from_code
    assert "listen = 127.0.0.1:8081" in from_code
    assert "url_prefix = /pre" in from_code


def test_listen_as_a_list():
    text = waitress_rs.check(listen=["127.0.0.1:8081", "127.0.0.1:8082"])
    assert "listen = 127.0.0.1:8081 127.0.0.1:8082" in text


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"host": "127.0.0.1", "listen": "127.0.0.1:1"}, "host or port may not be set if listen is set."),
        ({"threads": "lots"}, 'threads = "lots" (keyword threads=): expected a whole number'),
        ({"bogus": 1}, "unknown setting 'bogus' (keyword bogus=)"),
        ({"trusted_proxy_headers": "x-forwarded-for"}, "trusted_proxy"),
        ({"threads": object()}, "threads: a object value is not supported"),
    ],
)
def test_bad_settings_raise_value_error(kw, message):
    with pytest.raises(ValueError) as info:
        waitress_rs.check(**kw)
    assert message in str(info.value)
    # serve() goes through the same rules before anything is bound.
    with pytest.raises(ValueError) as info:
        waitress_rs.serve(lambda e, s: [], _quiet=True, **kw)
    assert message in str(info.value)


def test_none_app_is_refused_with_waitress_message():
    with pytest.raises(ValueError) as info:
        waitress_rs.serve(None, listen="127.0.0.1:0", _quiet=True)
    assert str(info.value).startswith('The "app" passed to ``create_server`` was ``None``.  You forgot')


def test_address_in_use_is_an_oserror():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        with pytest.raises(OSError) as info:
            waitress_rs.serve(lambda e, r: [], listen=f"127.0.0.1:{port}", _quiet=True)
        assert info.value.errno == 98
    finally:
        s.close()


SERVE_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from waitress_rs import serve
    from fixtureapps.sleepy import app
    logging.basicConfig()
    logging.getLogger("waitress").setLevel(logging.INFO)
    serve(app, host="127.0.0.1", port=0, threads=2, ipv6=False)
    print("serve returned", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_serve_cleanly_after_requests_in_progress(sig):
    server = Server([], command=[sys.executable, "-c", SERVE_SCRIPT])
    try:
        sock = server.connect()
        sock.sendall(b"GET /sleepy HTTP/1.0\r\n\r\n")
        fp = sock.makefile("rb", 0)
        import time

        time.sleep(0.3)
        server.proc.send_signal(sig)
        line, headers, body = read_http(fp)
        assert body == b"sleepy returned"
        assert server.proc.wait(10) == 0
        assert server.wait_for_log("serve returned")
        assert "Traceback" not in server.log()
        sock.close()
    finally:
        server.stop()


AFTER_SERVE_SCRIPT = textwrap.dedent(
    """
    import logging, os, signal, time
    from waitress_rs import serve
    from fixtureapps.sleepy import app
    logging.basicConfig()
    logging.getLogger("waitress").setLevel(logging.INFO)
    serve(app, host="127.0.0.1", port=0, threads=1, ipv6=False)
    print("serve returned", flush=True)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        print("no KeyboardInterrupt", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt after serve", flush=True)
    """
)


def test_ctrl_c_after_serve_returned_is_pythons_again():
    # Once serve() has returned, SIGINT is Python's KeyboardInterrupt again, not the server's
    # "second signal" that exits the process at once.
    server = Server([], command=[sys.executable, "-c", AFTER_SERVE_SCRIPT])
    try:
        server.proc.send_signal(signal.SIGINT)
        assert server.wait_for_log("serve returned")
        assert server.proc.wait(10) == 0, server.log()
        assert "KeyboardInterrupt after serve" in server.log()
    finally:
        server.stop()


def test_serve_logs_serving_on_through_python_logging():
    server = Server([], command=[sys.executable, "-c", SERVE_SCRIPT])
    try:
        assert "INFO:waitress:Serving on http://127.0.0.1:" in server.log()
    finally:
        server.stop()


SOCKETS_SCRIPT = textwrap.dedent(
    """
    import logging, socket
    from waitress_rs import serve
    from fixtureapps.sleepy import app
    logging.basicConfig()
    logging.getLogger("waitress").setLevel(logging.INFO)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    serve(app, sockets=[sock])
    """
)


def test_sockets_given_as_socket_objects():
    # waitress's serve(app, sockets=[sock]): the server listens on the caller's socket.
    server = Server([], command=[sys.executable, "-c", SOCKETS_SCRIPT])
    try:
        sock = server.connect()
        fp = sock.makefile("rb", 0)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert read_http(fp)[2] == b"notsleepy returned"
        sock.close()
    finally:
        server.stop()
