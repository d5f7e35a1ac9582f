"""Start waitress-rs (the installed package's console script) on loopback TCP or a Unix
socket, talk to it over raw sockets, and stop it. Every server a test starts is stopped."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT = 20
_TMP = tempfile.mkdtemp(prefix="waitress-rs-tests-")
os.environ["WAITRESS_RS_TEST_TMP"] = _TMP


def waitress_rs_command():
    """The console script installed beside this interpreter, else `python -m waitress_rs`."""
    script = os.path.join(os.path.dirname(sys.executable), "waitress-rs")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "waitress_rs"]


class Server:
    """A running `waitress-rs` process; `addr` is a (host, port) pair or a socket path."""

    def __init__(self, args, unix=False, cwd=HERE, env=None, listeners=1, command=None):
        self.sock_path = None
        if command is None:
            command = waitress_rs_command()
            if unix:
                self.sock_path = os.path.join(_TMP, f"s{os.getpid()}-{id(self)}.sock")
                args = ["--unix-socket", self.sock_path, "--unix-socket-perms", "600"] + args
            else:
                args = ["--listen", "127.0.0.1:0"] + args
            command = command + args
        full_env = dict(os.environ)
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.setdefault("PYTHONPATH", HERE)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines = []
        self.urls = []
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        with self._seen:
            while len(self.urls) < listeners:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("server did not start:\n" + self.log())
                self._seen.wait(min(left, 0.2))
        url = self.urls[0]
        if url.startswith("http://unix:"):
            self.addr = url[len("http://unix:") :]
        else:
            host, port = re.match(r"http://\[?([^\]]*)\]?:(\d+)$", url).groups()
            self.addr = (host, int(port))

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            with self._seen:
                self.lines.append(line)
                m = re.search(r"Serving on (\S+)", line)
                if m:
                    self.urls.append(m.group(1))
                self._seen.notify_all()

    def log(self):
        with self._seen:
            return "".join(self.lines)

    def wait_for_log(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        with self._seen:
            while not re.search(pattern, "".join(self.lines)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._seen.wait(min(left, 0.2))
        return True

    def connect(self, timeout=10):
        if isinstance(self.addr, str):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.addr)
        return s

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_server():
    started = []

    def start(*args, **kw):
        server = Server(list(args), **kw)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["tcp", "unix"])
def transport(request):
    return request.param


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(_TMP, ignore_errors=True)
