"""Real framework apps served by waitress-rs: Flask (console script), Django (through the
django-prodserver backend), Pyramid (pserve with a PasteDeploy INI file)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import HERE, Server, waitress_rs_command
from httpclient import dechunk, read_http


def request(server, raw):
    sock = server.connect()
    fp = sock.makefile("rb", 0)
    try:
        sock.sendall(raw)
        return read_http(fp)
    finally:
        fp.close()
        sock.close()


def get(server, path, version=b"1.0", headers=b""):
    return request(server, b"GET %s HTTP/%s\r\nHost: localhost\r\n%s\r\n" % (path, version, headers))


# ---------------------------------------------------------------------------- Flask


@pytest.fixture(scope="module", params=["tcp", "unix"])
def flask_server(request):
    pytest.importorskip("flask")
    server = Server(["--threads", "2", "fixtureapps.flask_app:app"], unix=request.param == "unix")
    yield server
    server.stop()


def test_flask_page(flask_server):
    line, headers, body = get(flask_server, b"/")
    assert line == b"HTTP/1.0 200 OK\r\n"
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert body == b"<h1>Hello from Flask</h1>"


def test_flask_json(flask_server):
    line, headers, body = get(flask_server, b"/json?a=1")
    assert json.loads(body) == {"method": "GET", "args": {"a": "1"}, "server": "waitress"}


def test_flask_reads_cookies_sent_in_two_header_lines(flask_server):
    # A proxy may split cookies over two lines (HTTP/2 sends one field per cookie); joined with
    # ", " (as waitress does), Werkzeug reads no cookie at all.
    line, headers, body = get(flask_server, b"/cookies", headers=b"Cookie: a=1\r\nCookie: b=2\r\n")
    assert json.loads(body) == {"a": "1", "b": "2"}


def test_flask_form_post(flask_server):
    data = b"name=waitress&lang=rust"
    line, headers, body = request(
        flask_server,
        b"POST /form HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(data), data),
    )
    assert json.loads(body) == {"form": {"name": "waitress", "lang": "rust"}, "length": len(data)}


def test_flask_multipart_upload_spooled(flask_server):
    payload = os.urandom(700_000)  # past inbuf_overflow: the body is read from a temp file
    boundary = b"xyzzy"
    data = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + payload + b"\r\n--" + boundary + b"--\r\n"
    )
    line, headers, body = request(
        flask_server,
        b"POST /upload HTTP/1.0\r\nContent-Type: multipart/form-data; boundary=%s\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (boundary, len(data), data),
    )
    assert json.loads(body) == {"size": len(payload), "name": "a.bin"}


def test_flask_streaming(flask_server):
    line, headers, body = get(flask_server, b"/stream", b"1.1")
    assert headers["transfer-encoding"] == "chunked"
    assert dechunk(body) == b"".join(b"line %d\n" % i for i in range(5))


def test_flask_send_file_uses_the_file_wrapper(flask_server):
    line, headers, body = get(flask_server, b"/file", b"1.1")
    assert line == b"HTTP/1.1 200 OK\r\n"
    assert headers["content-length"] == "256000"
    assert body == bytes(range(256)) * 1000


def test_flask_error_is_500(flask_server):
    line, headers, body = get(flask_server, b"/boom")
    assert line == b"HTTP/1.0 500 INTERNAL SERVER ERROR\r\n"  # Flask's own error page
    assert flask_server.wait_for_log("RuntimeError: flask view failed")


# ---------------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_server():
    pytest.importorskip("django")
    pytest.importorskip("django_prodserver")
    proj = os.path.join(HERE, "djangoproj")
    env = {"PYTHONPATH": proj + os.pathsep + HERE}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=proj, env=dict(os.environ, **env), check=True, timeout=120,
    )
    server = Server([], command=[sys.executable, "manage.py", "server", "web"], cwd=proj, env=env)
    yield server
    server.stop()


def test_django_page_through_django_prodserver(django_server):
    line, headers, body = get(django_server, b"/")
    assert line == b"HTTP/1.0 200 OK\r\n"
    assert headers["server"] == "waitress-rs-django"  # ARGS reached waitress-rs
    assert body == b"<h1>Hello from Django</h1>"


def test_django_database_connection_is_kept_per_worker_thread(django_server):
    seen = {}
    for _ in range(12):
        got = json.loads(get(django_server, b"/db")[2])
        assert got["value"] == 2
        seen.setdefault(got["thread"], set()).add(got["connection"])
    assert 1 <= len(seen) <= 2  # threads = 2
    # Thread-locals survive between requests: one connection per worker thread.
    assert all(len(conns) == 1 for conns in seen.values())


def test_django_post(django_server):
    data = b"a=1&b=two"
    line, headers, body = request(
        django_server,
        b"POST /echo HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(data), data),
    )
    assert json.loads(body) == {"method": "POST", "body": "a=1&b=two", "post": {"a": "1", "b": "two"}}


def test_django_404(django_server):
    line, headers, body = get(django_server, b"/nope")
    assert line == b"HTTP/1.0 404 Not Found\r\n"


# ---------------------------------------------------------------------------- Pyramid / pserve


@pytest.fixture(scope="module")
def pserve_server():
    pytest.importorskip("pyramid")
    pytest.importorskip("paste.deploy")
    pserve = shutil.which("pserve", path=os.path.dirname(sys.executable)) or shutil.which("pserve")
    ini = os.path.join(HERE, "pyramidproj", "production.ini")
    server = Server([], command=[pserve, ini], env={"PYTHONPATH": HERE})
    yield server
    server.stop()


def test_pyramid_page_through_pserve(pserve_server):
    line, headers, body = get(pserve_server, b"/")
    assert line == b"HTTP/1.0 200 OK\r\n"
    assert body == b"<h1>Hello from Pyramid, pserve</h1>"


def test_pyramid_ini_server_settings_apply(pserve_server):
    # trusted_proxy_headers came from the INI's indented list, through serve_paste.
    line, headers, body = get(
        pserve_server, b"/json", headers=b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: example.com\r\n"
    )
    assert json.loads(body) == {"path": "/json", "scheme": "https", "host": "example.com"}


def test_pserve_logs_through_the_ini_logging_config(pserve_server):
    # The [formatter_generic] format, not the basicConfig one: records went to Python logging.
    assert "INFO  [waitress:" in pserve_server.log()
