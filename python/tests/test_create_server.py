"""waitress_rs.create_server: bound at once (the real port of port 0 known before serving),
run() from a thread, close() finishing the requests in progress; waitress's attributes."""

import gc
import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import waitress_rs
from conftest import HERE
from fixtureapps.sleepy import app as sleepy
from httpclient import read_http

JOIN_TIMEOUT = 10


def get(port, path="/"):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=JOIN_TIMEOUT) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        return read_http(sock.makefile("rb"))


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def serve_in_thread(server):
    thread = threading.Thread(target=server.run)
    thread.start()
    return thread


def test_port_0_is_known_before_run_and_close_lets_the_request_in_progress_finish():
    server = waitress_rs.create_server(sleepy, host="127.0.0.1", port=0, threads=2)
    assert server.effective_host == "127.0.0.1"
    # Strings, as waitress's getnameinfo gives them.
    assert server.effective_port.isdigit() and server.effective_port != "0"
    assert server.effective_listen == [(server.effective_host, server.effective_port)]
    assert server.getsockname() == (server.effective_host, server.effective_port)
    assert server.application is sleepy
    thread = serve_in_thread(server)
    try:
        assert get(server.effective_port)[2] == b"notsleepy returned"
        answers = []
        slow = threading.Thread(target=lambda: answers.append(get(server.effective_port, "/sleepy")))
        slow.start()
        time.sleep(0.5)
        server.close()
        slow.join(JOIN_TIMEOUT)
        assert answers and answers[0][2] == b"sleepy returned"
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive()
        assert refused(server.effective_port)
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)


def test_close_before_run_closes_the_listener_and_run_then_returns_at_once():
    server = waitress_rs.create_server(sleepy, host="127.0.0.1", port=0)
    port = server.effective_port
    assert not refused(port)
    server.close()
    assert refused(port)
    server.run()
    server.close()


def test_a_second_run_while_serving_is_an_error():
    server = waitress_rs.create_server(sleepy, host="127.0.0.1", port=0)
    thread = serve_in_thread(server)
    try:
        # Answered, so the thread is serving (before that, connections wait in the backlog).
        assert get(server.effective_port)[2] == b"notsleepy returned"
        with pytest.raises(RuntimeError, match="already running"):
            server.run()
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)
    assert not thread.is_alive()


def test_several_listeners_are_in_effective_listen_and_printed_with_brackets(caplog):
    server = waitress_rs.create_server(sleepy, listen="127.0.0.1:0 [::1]:0")
    try:
        (v4, v4_port), (v6, v6_port) = server.effective_listen
        assert (v4, v6) == ("127.0.0.1", "::1")
        # As in waitress, a server of several listeners has no single host and port.
        assert not hasattr(server, "effective_port")
        assert not hasattr(server, "getsockname")
        with caplog.at_level(logging.INFO, logger="waitress"):
            server.print_listen("Serving on http://{}:{}")
        assert [r.getMessage() for r in caplog.records if r.name == "waitress"] == [
            f"Serving on http://127.0.0.1:{v4_port}",
            f"Serving on http://[::1]:{v6_port}",
        ]
    finally:
        server.close()


def test_a_unix_socket_is_unix_and_its_path(tmp_path):
    path = str(tmp_path / "app.sock")
    server = waitress_rs.create_server(sleepy, unix_socket=path)
    assert (server.effective_host, server.effective_port) == ("unix", path)
    assert server.getsockname() == ("unix", path)
    thread = serve_in_thread(server)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(JOIN_TIMEOUT)
            sock.connect(path)
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert read_http(sock.makefile("rb"))[2] == b"notsleepy returned"
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)
    assert not os.path.exists(path)


@pytest.mark.parametrize("hook", [{"map": {}}, {"_start": False}, {"_sock": object()}, {"_dispatcher": object()}])
def test_waitress_internal_hooks_are_refused(hook):
    with pytest.raises(ValueError, match="not supported by waitress-rs"):
        waitress_rs.create_server(sleepy, listen="127.0.0.1:0", **hook)


def test_settings_are_checked_as_serve_checks_them():
    with pytest.raises(ValueError) as info:
        waitress_rs.create_server(None, listen="127.0.0.1:0")
    assert str(info.value).startswith('The "app" passed to ``create_server`` was ``None``.')
    with pytest.raises(ValueError, match="threads"):
        waitress_rs.create_server(sleepy, listen="127.0.0.1:0", threads=0)


def thread_names_once_workers_ended():
    """The names in threading.enumerate() once no worker is left: workers end just after
    run() returns (or a server is dropped), so this waits for them, bounded."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    while any(t.name.startswith("waitress-") for t in threading.enumerate()):
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        time.sleep(0.05)
    return {t.name for t in threading.enumerate()}


def test_workers_leave_threading_enumerate_once_stopped():
    before = thread_names_once_workers_ended()
    for _ in range(2):
        server = waitress_rs.create_server(sleepy, host="127.0.0.1", port=0, threads=3)
        thread = serve_in_thread(server)
        assert get(server.effective_port)[2] == b"notsleepy returned"
        server.close()
        thread.join(JOIN_TIMEOUT)
    assert thread_names_once_workers_ended() == before


THREAD_SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time
    import waitress_rs
    from fixtureapps.sleepy import app
    server = waitress_rs.create_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run)
    thread.start()
    time.sleep(0.3)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        print("no KeyboardInterrupt", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt in the main thread", flush=True)
    server.close()
    thread.join(10)
    print("stopped" if not thread.is_alive() else "still running", flush=True)
    """
)


def test_run_in_a_thread_leaves_the_signals_to_the_program():
    # waitress's run() in a thread installs nothing: Ctrl-C is the main thread's
    # KeyboardInterrupt, and the program stops the server with close().
    out = subprocess.run(
        [sys.executable, "-c", THREAD_SCRIPT], cwd=HERE, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.splitlines() == ["KeyboardInterrupt in the main thread", "stopped"], out.stderr


def failing(environ, start_response):
    raise ValueError("boom " + environ["PATH_INFO"])


def test_an_apps_exception_is_logged_before_its_500_is_sent(caplog):
    # As waitress's workers do: a test that asserts on the record right after the response
    # (caplog, assertLogs) must find it. Through a forwarding thread it came late 5 times in 100.
    server = waitress_rs.create_server(failing, host="127.0.0.1", port=0, threads=2)
    thread = serve_in_thread(server)
    try:
        with caplog.at_level(logging.ERROR, logger="waitress"):
            for n in range(100):
                caplog.clear()
                status = get(server.effective_port, f"/{n}")[0]
                assert b"500" in status
                messages = [r.getMessage() for r in caplog.records if r.name == "waitress"]
                assert messages == [f"Exception while serving /{n}"], (n, messages)
                assert caplog.records[0].exc_info[1].args == (f"boom /{n}",)
                assert caplog.records[0].threadName.startswith("waitress-")
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)


CLOSE_THEN_CTRL_C_SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time, urllib.request
    import waitress_rs
    running = threading.Event()
    def app(environ, start_response):
        running.set()
        time.sleep(2)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]
    server = waitress_rs.create_server(app, host="127.0.0.1", port=0)
    answers = []
    def client():
        url = f"http://127.0.0.1:{server.effective_port}/"
        answers.append(urllib.request.urlopen(url, timeout=20).read())
    def stop():
        # Once the request is with the app: close(), then a Ctrl-C.
        running.wait(20)
        server.close()
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)
    asking = threading.Thread(target=client)
    asking.start()
    threading.Thread(target=stop).start()
    server.run()
    asking.join(20)
    print(answers, flush=True)
    """
)


def test_ctrl_c_after_close_is_a_first_stop_signal_not_a_second():
    # run() in the main thread takes the signals; close() had counted as one, so a Ctrl-C
    # after it exited at once ("Second stop signal"), cutting off the request in progress.
    out = subprocess.run(
        [sys.executable, "-c", CLOSE_THEN_CTRL_C_SCRIPT], cwd=HERE, capture_output=True,
        text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[b'done']", (out.stdout, out.stderr)
    assert "Second stop signal" not in out.stderr


def test_unknown_header_names_are_not_interned():
    # Interned strings are immortal from Python 3.12: interning each client-chosen header name
    # (X-<random>) grew the process for good, 23 MB per 200,000 names.
    canon = sys.intern("HTTP_X_NOT_INTERNED_" + os.urandom(8).hex().upper())
    seen = []

    def app(environ, start_response):
        seen.extend(k is canon for k in environ if k == canon)
        start_response("200 OK", [])
        return [b""]

    server = waitress_rs.create_server(app, host="127.0.0.1", port=0, threads=1)
    thread = serve_in_thread(server)
    try:
        name = canon[len("HTTP_"):].replace("_", "-")
        with socket.create_connection(("127.0.0.1", int(server.effective_port)), timeout=JOIN_TIMEOUT) as sock:
            sock.sendall(f"GET / HTTP/1.0\r\n{name}: 1\r\n\r\n".encode())
            assert read_http(sock.makefile("rb"))[0].startswith(b"HTTP/1.0 200")
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)
    assert seen == [False], seen


def test_a_failed_requests_exception_is_released_with_its_response():
    # The core dropped the error on the worker detached from Python, so pyo3 only queued the
    # release: the exception's frames (and what they held: the environ, a spooled body's temp
    # file) stayed alive until the next request or the log bridge's refresh, up to a second.
    import weakref

    class Held:
        pass

    held = []

    def app(environ, start_response):
        marker = Held()
        held.append(weakref.ref(marker))
        raise ValueError("fails on purpose")

    waitress_log = logging.getLogger("waitress")
    propagate = waitress_log.propagate
    # Not to pytest's capture handler, which keeps each record and its exc_info.
    waitress_log.propagate = False
    server = waitress_rs.create_server(app, host="127.0.0.1", port=0, threads=1)
    thread = serve_in_thread(server)
    try:
        for _ in range(5):
            assert get(server.effective_port)[0].startswith(b"HTTP/1.0 500")
            deadline = time.monotonic() + 0.2
            while held[-1]() is not None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert held[-1]() is None, "the exception outlived its response"
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)
        waitress_log.propagate = propagate



# Requests of each way a response can end, for the leak check below: enough that one object
# or descriptor kept per request stands out from the few a warm-up creates, few enough for a
# second or two.
LEAK_CHECK_ROUNDS = 100
# A body past the test's inbuf_overflow, so it is spooled to a temp file (a descriptor).
SPILLED_BODY = b"s" * 20000
LEAK_CHECK_INBUF_OVERFLOW = 8192
# How long the releases that follow a response (an abandoned generator, a failed request's
# exception) may take to land; the check waits up to this for the counts to come back.
SETTLE_TIMEOUT = 10


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
def test_requests_leave_no_objects_or_descriptors_behind(tmp_path):
    # A server runs for weeks: one object or descriptor kept per request is an outage. Each way
    # a response ends is driven here; each request's environ and iterable hold a Live, and a
    # spooled body (an unlinked temp file) and a wrapped file hold descriptors. A soak of
    # 16,000 requests per way showed no growth; this keeps it so.
    class Live:
        pass

    def live():
        return sum(1 for o in gc.get_objects() if type(o) is Live)

    def fds():
        return len(os.listdir("/proc/self/fd"))

    class Closing:
        def __init__(self, fail):
            self.live = Live()
            self.fail = fail

        def __iter__(self):
            return iter([b"a", b"b"])

        def close(self):
            if self.fail:
                raise ValueError("close() fails on purpose")

    def endless():
        held = Live()  # noqa: F841 (alive as long as the generator)
        for _ in range(10000):
            yield b"g" * 65536

    data = tmp_path / "data.bin"
    data.write_bytes(b"f" * 10000)

    def app(environ, start_response):
        environ["test.live"] = Live()
        path = environ["PATH_INFO"]
        if path == "/partial":
            environ["wsgi.input"].read(10)
        elif path == "/raise":
            start_response("200 OK", [])
            raise ValueError("fails on purpose")
        write = start_response("200 OK", [])
        if path == "/write":
            write(b"w")
            return [b"x"]
        if path == "/file":
            return environ["wsgi.file_wrapper"](open(data, "rb"))
        if path in ("/close", "/close_raise"):
            return Closing(path == "/close_raise")
        if path == "/endless":
            return endless()
        return [environ["wsgi.input"].read()]

    def request(port, path, body=b"", abandon=False):
        with socket.create_connection(("127.0.0.1", port), timeout=JOIN_TIMEOUT) as sock:
            sock.sendall(b"POST %s HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (path, len(body), body))
            if abandon:
                sock.recv(100)
                # A reset, so the server's next write fails at once.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            fp = sock.makefile("rb")
            while fp.read(65536):
                pass

    def every_way(port):
        request(port, b"/", SPILLED_BODY)
        request(port, b"/partial", SPILLED_BODY)
        request(port, b"/raise", SPILLED_BODY)
        request(port, b"/write")
        request(port, b"/file")
        request(port, b"/close")
        request(port, b"/close_raise")
        request(port, b"/endless", SPILLED_BODY, abandon=True)

    def settled(most_fds):
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            gc.collect()
            now = (live(), fds())
            if (now[0] == 0 and now[1] <= most_fds) or time.monotonic() > deadline:
                return now
            time.sleep(0.05)

    waitress_log = logging.getLogger("waitress")
    propagate = waitress_log.propagate
    # Not to pytest's capture handler, which keeps each record and its exc_info, nor to
    # logging's last resort, which prints each traceback.
    waitress_log.propagate = False
    quiet = logging.NullHandler()
    waitress_log.addHandler(quiet)
    server = waitress_rs.create_server(
        app, host="127.0.0.1", port=0, threads=4, inbuf_overflow=LEAK_CHECK_INBUF_OVERFLOW
    )
    thread = serve_in_thread(server)
    try:
        port = int(server.effective_port)
        # The first round opens what stays open (the temp directory's choice, worker state).
        every_way(port)
        baseline = settled(most_fds=fds())
        for _ in range(LEAK_CHECK_ROUNDS):
            every_way(port)
        after = settled(most_fds=baseline[1])
    finally:
        server.close()
        thread.join(JOIN_TIMEOUT)
        waitress_log.removeHandler(quiet)
        waitress_log.propagate = propagate
    assert after[0] == 0 and after[1] <= baseline[1], (baseline, after)
