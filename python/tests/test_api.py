"""waitress_rs.serve / serve_paste / check from Python: keyword conversions, errors as
ValueError, and stopping cleanly on SIGINT and SIGTERM."""

import errno
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


def test_floats_as_waitress_reads_them_and_fractions_of_seconds_kept():
    # waitress takes int(8080.0); a fraction of a second is kept here (waitress truncates
    # channel_timeout=1.5 to 1, and asyncore_loop_timeout=0.1 to 0, a busy loop).
    floats = waitress_rs.check(port=8081.0, threads=4.0, channel_timeout=1.5, asyncore_loop_timeout=0.25)
    strings = waitress_rs.check(port="8081", threads="4", channel_timeout="1500ms", asyncore_loop_timeout="250ms")
    assert floats == strings
    assert "channel_timeout = 1500ms" in floats, floats
    with pytest.raises(ValueError) as info:
        waitress_rs.check(threads=2.7)
    assert "expected a whole number" in str(info.value)


def test_unix_socket_perms_as_an_int_is_refused():
    # Read as octal digits, 0o660 (432) would have been mode 0o432, silently.
    with pytest.raises(ValueError) as info:
        waitress_rs.check(unix_socket="/tmp/x.sock", unix_socket_perms=0o660)
    assert "octal string such as '660'" in str(info.value)
    assert "unix_socket_perms = 660" in waitress_rs.check(unix_socket="/tmp/x.sock", unix_socket_perms="660")


def test_listen_as_a_list():
    text = waitress_rs.check(listen=["127.0.0.1:8081", "127.0.0.1:8082"])
    assert "listen = 127.0.0.1:8081 127.0.0.1:8082" in text


def test_a_list_inside_a_list_is_refused_even_one_holding_itself():
    # A list holding itself recursed until the interpreter's stack overflowed (exit 139).
    looped = []
    looped.append(looped)
    for value in (looped, [["127.0.0.1:8081"]], ("127.0.0.1:8081", {"127.0.0.1:8082"})):
        with pytest.raises(ValueError) as info:
            waitress_rs.check(listen=value)
        assert "listen: a list inside a list is not supported" in str(info.value)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"host": "127.0.0.1", "listen": "127.0.0.1:1"}, "host or port may not be set if listen is set."),
        ({"threads": "lots"}, 'threads = "lots" (keyword threads=): expected a whole number'),
        ({"bogus": 1}, "unknown setting 'bogus' (keyword bogus=)"),
        ({"trusted_proxy_headers": "x-forwarded-for"}, "trusted_proxy"),
        ({"threads": object()}, "threads: a object value is not supported"),
        # waitress's test hooks that cannot be honoured are refused, not ignored.
        ({"_server": object()}, "_server (waitress's server factory hook) is not supported"),
        ({"_profile": True}, "_profile (waitress's cProfile hook) is not supported"),
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



def test_a_connected_socket_is_an_oserror_as_in_waitress():
    # waitress calls listen() on the sockets it is given, which fails with EINVAL on one
    # that is connected; waitress-rs refuses it before, saying why, as the same OSError.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    connected = socket.create_connection(server.getsockname())
    try:
        with pytest.raises(OSError) as info:
            waitress_rs.serve(lambda e, r: [], sockets=[connected], _quiet=True)
        assert info.value.errno == 22
        assert "connected to a peer" in str(info.value)
    finally:
        connected.close()
        server.close()


def test_a_file_at_the_unix_socket_path_is_an_oserror_as_in_waitress(tmp_path):
    # waitress leaves a file that is not a socket alone, and its bind() fails with
    # EADDRINUSE; waitress-rs refuses it before binding, as the same OSError.
    path = tmp_path / "app.sock"
    path.write_bytes(b"not a socket")
    with pytest.raises(OSError) as info:
        waitress_rs.serve(lambda e, r: [], unix_socket=str(path), _quiet=True)
    assert info.value.errno == errno.EADDRINUSE
    assert "not a socket" in str(info.value)
    assert path.read_bytes() == b"not a socket"

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


SIGTERM_AFTER_SERVE_SCRIPT = textwrap.dedent(
    """
    import logging, time
    from waitress_rs import serve
    from fixtureapps.sleepy import app
    logging.basicConfig()
    logging.getLogger("waitress").setLevel(logging.INFO)
    serve(app, host="127.0.0.1", port=0, threads=1, ipv6=False)
    print("serve returned", flush=True)
    time.sleep(10)
    print("still running", flush=True)
    """
)


def test_sigterm_after_serve_returned_ends_the_process():
    # SIGTERM's default is to end the process; once serve() has returned, that holds again
    # (the server's handler used to swallow it, so supervisors needed SIGKILL).
    server = Server([], command=[sys.executable, "-c", SIGTERM_AFTER_SERVE_SCRIPT])
    try:
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_for_log("serve returned")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(5) == -signal.SIGTERM, server.log()
        assert "still running" not in server.log()
    finally:
        server.stop()


QUIET_SCRIPT = textwrap.dedent(
    """
    import logging, os, signal, threading
    from waitress_rs import serve
    logging.basicConfig()
    logging.getLogger("waitress").setLevel(logging.INFO)
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    serve(lambda e, s: [], listen="127.0.0.1:0", _quiet=QUIET)
    print("serve returned", flush=True)
    """
)


def run_script(script, timeout=60):
    """Runs `script` in a fresh interpreter from the tests' directory; its completed process."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=HERE, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.parametrize("quiet", [True, False])
def test_quiet_leaves_out_serving_on(quiet):
    # waitress's _quiet skips print_listen as well as logging.basicConfig.
    out = run_script(QUIET_SCRIPT.replace("QUIET", str(quiet)), timeout=30)
    assert "serve returned" in out.stdout, out.stderr
    assert ("Serving on" in out.stderr) == (not quiet), out.stderr


LOG_SCRIPT = textwrap.dedent(
    """
    import json, logging, os, signal, socket, threading, time
    from waitress_rs import serve

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append({
                "name": record.name, "msg": record.msg, "args": list(record.args),
                "message": record.getMessage(), "thread": record.threadName,
                "exc": record.exc_info[0].__name__ if record.exc_info else None,
                "where": [record.pathname, record.lineno],
            })

    for name in ("waitress", "waitress.queue"):
        logging.getLogger(name).addHandler(Keep())
        logging.getLogger(name).propagate = False
    logging.getLogger("waitress").setLevel(START_LEVEL)
    logging.getLogger("waitress.queue").setLevel(logging.WARNING)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise ValueError("wrong")
        time.sleep(0.3)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]

    def get(path):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"GET %s HTTP/1.0\\r\\n\\r\\n" % path.encode())
        while c.recv(65536):
            pass
        c.close()

    def client():
        get("/boom")
        # Three at once on one worker: two wait, which waitress.queue reports.
        waiting = [threading.Thread(target=get, args=("/slow",)) for _ in range(3)]
        for t in waiting:
            t.start()
        for t in waiting:
            t.join()
        # Lowered after the start: the server must notice within a second or so.
        logging.getLogger("waitress").setLevel(logging.INFO)
        time.sleep(2.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Timer(0.3, client).start()
    serve(app, sockets=[sock], threads=1, _quiet=True)
    print(json.dumps(records))
    """
)


def logged_records(start_level):
    out = run_script(LOG_SCRIPT.replace("START_LEVEL", start_level))
    assert out.returncode == 0, out.stderr
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_log_records_have_waitress_shape_and_follow_the_levels_of_the_moment():
    records = logged_records("logging.INFO")
    boom = [r for r in records if r["message"].startswith("Exception while serving /boom")]
    # As waitress's logger.exception: the message alone, the exception as exc_info (Sentry's
    # and JSON handlers read it there), on the worker thread's name.
    assert boom == [{
        "name": "waitress", "msg": "Exception while serving /boom", "args": [],
        "message": "Exception while serving /boom", "thread": boom[0]["thread"], "exc": "ValueError",
        "where": boom[0]["where"],
    }], records
    assert boom[0]["thread"].startswith("waitress-")
    # Each logger's own level: waitress.queue warns while waitress is at INFO or ERROR.
    queue = [r for r in records if r["name"] == "waitress.queue"]
    assert any("Task queue depth" in r["message"] for r in queue), records
    # The event loop's records carry the thread that called serve() by its Python name, as
    # waitress's main loop logs (they came from the forwarding thread, "Dummy-1"), and every
    # record says where in the server it was made (Pyramid's format shows %(lineno)s).
    assert all(r["thread"] == "MainThread" for r in queue), queue
    for r in records:
        path, line = r["where"]
        assert path.endswith(".rs") and line > 0, r


def test_log_levels_changed_after_serve_started_take_effect():
    records = logged_records("logging.ERROR")
    messages = [r["message"] for r in records]
    assert any("Exception while serving /boom" in m for m in messages), messages
    # The queue warning passes on waitress.queue's own level, though waitress is at ERROR.
    assert any("Task queue depth" in m for m in messages), messages
    # waitress went from ERROR to INFO while serving: the stop notice is logged.
    assert any(m.startswith("SIGTERM received") for m in messages), messages


BACKLOG_SCRIPT = textwrap.dedent(
    """
    import gc, json, logging, os, signal, socket, threading, time
    from waitress_rs import serve

    class Boom(Exception):
        pass

    most = [0]

    class Slow(logging.Handler):
        # As a network handler: each record takes a while. The exceptions waiting for it
        # keep their requests alive, so how many are alive at once is what the wait costs.
        def emit(self, record):
            time.sleep(0.005)
            most[0] = max(most[0], sum(1 for o in gc.get_objects() if type(o) is Boom))

    logger = logging.getLogger("waitress")
    logger.addHandler(Slow())
    logger.propagate = False
    logger.setLevel(logging.ERROR)

    def app(environ, start_response):
        raise Boom("failed")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]

    def client():
        for _ in range(50):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            while c.recv(65536):
                pass
            c.close()

    def run():
        clients = [threading.Thread(target=client) for _ in range(8)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Timer(0.3, run).start()
    serve(app, sockets=[sock], threads=4, _quiet=True)
    print(json.dumps({"most": most[0]}))
    """
)


def test_a_slow_log_handler_slows_the_workers_instead_of_queueing_without_end():
    # 400 failing requests at 5 ms a record: queued without a bound, ~350 exceptions (and
    # their requests) waited at once; the queue holds 64, and a full one makes workers wait.
    out = run_script(BACKLOG_SCRIPT)
    assert out.returncode == 0, out.stderr
    import json

    most = json.loads(out.stdout.strip().splitlines()[-1])["most"]
    assert 0 < most <= 100, most


EXIT_SCRIPT = textwrap.dedent(
    """
    import logging, os, signal, socket, threading, time
    from waitress_rs import serve

    class Slow(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Exception while serving"):
                # Short sleeps: the thread takes the GIL back every millisecond, as a handler
                # writing to a network does.
                end = time.monotonic() + 0.3
                while time.monotonic() < end:
                    time.sleep(0.001)
                print("handled", flush=True)

    class Finalizer:
        # Python code run while the interpreter finalizes lets a waiting thread take the GIL.
        def __del__(self):
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                pass

    finalizer = Finalizer()
    logger = logging.getLogger("waitress")
    logger.addHandler(Slow())
    logger.propagate = False
    logger.setLevel(logging.ERROR)

    def app(environ, start_response):
        raise ValueError("failed")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def client():
        for _ in range(20):
            c = socket.create_connection(sock.getsockname())
            c.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            while c.recv(65536):
                pass
            c.close()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Timer(0.3, client).start()
    serve(app, sockets=[sock], _quiet=True)
    print("serve returned", flush=True)
    """
)


def test_the_interpreter_exits_cleanly_with_records_still_queued():
    # 20 records at 0.3 s each: serve() waits 5 s for the log and returns with some still
    # queued. The interpreter's exit forwards them and ends the forwarding thread first:
    # finalizing under it aborted the process (exit -6) and lost them.
    out = run_script(EXIT_SCRIPT)
    assert out.returncode == 0, (out.returncode, out.stderr)
    lines = out.stdout.split("\n")
    assert "serve returned" in lines, out.stdout
    assert lines.count("handled") == 20, out.stdout


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


def test_socket_objects_are_checked_as_waitress_checks_them():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket()
    unix = socket.socket(socket.AF_UNIX)
    try:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        for sockets, message in [
            ([udp], "Only Internet or UNIX stream sockets may be used."),
            ([tcp, unix], "Internet and UNIX sockets may not be mixed."),
        ]:
            for call in (waitress_rs.check, lambda **kw: waitress_rs.serve(lambda e, s: [], _quiet=True, **kw)):
                with pytest.raises(ValueError) as info:
                    call(sockets=sockets)
                assert str(info.value) == message
        # check() takes socket objects as serve() does.
        assert f"sockets = {tcp.fileno()}" in waitress_rs.check(sockets=[tcp])
    finally:
        for s in (udp, tcp, unix):
            s.close()


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


THREAD_SERVE_SCRIPT = textwrap.dedent(
    """
    import threading, time
    from waitress_rs import serve
    from fixtureapps.sleepy import app
    threading.Thread(
        target=serve, args=(app,), kwargs=dict(listen="127.0.0.1:0", _quiet=True), daemon=True
    ).start()
    print("serving", flush=True)
    time.sleep(30)
    print("main thread ran to its end", flush=True)
    """
)


def test_sigterm_ends_a_program_serving_from_a_background_thread():
    # As under waitress: the server in a thread does not take SIGTERM, so it ends the process
    # (it used to stop only the server, leaving the program running with nothing served).
    proc = subprocess.Popen(
        [sys.executable, "-c", THREAD_SERVE_SCRIPT], cwd=HERE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "serving"
        import time

        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == -signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()


DICTCONFIG_SCRIPT = textwrap.dedent(
    """
    import logging.config, os, signal, threading
    import waitress_rs
    logging.config.dictConfig({
        "version": 1,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "root": {"handlers": ["console"], "level": "INFO"},
    })
    logging.getLogger("mine").info("configured")
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    waitress_rs.serve(lambda e, s: [], listen="127.0.0.1:0", _quiet=False)
    """
)


def test_dictconfig_disables_the_servers_loggers_as_it_disables_waitresss():
    # waitress's loggers exist once it is imported, so dictConfig's default
    # disable_existing_loggers=True silences them; waitress_rs's must exist as early.
    out = run_script(DICTCONFIG_SCRIPT)
    assert out.returncode == 0, out.stderr
    assert "configured" in out.stderr
    assert "Serving on" not in out.stderr and "SIGTERM" not in out.stderr, out.stderr


def test_an_ini_value_with_an_inline_comment_is_refused_with_a_hint():
    # pserve hands serve_paste a file's values as keywords; an INI file keeps ` # ...` in the
    # value, so `url_scheme = https # or http` arrives whole. waitress takes it as the scheme.
    with pytest.raises(ValueError) as info:
        waitress_rs.serve_paste(lambda e, s: [], {}, url_scheme="https # or http", _quiet=True)
    message = str(info.value)
    assert message.startswith('url_scheme = "https # or http" (keyword url_scheme=): ')
    assert message.endswith('(INI files have no inline comments: "# or http" is part of the value)')
