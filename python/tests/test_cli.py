"""The waitress-rs console script: the binary's flags plus waitress-serve's MODULE:OBJECT."""

import os
import socket
import subprocess
import sys

import pytest

from conftest import HERE, Server, waitress_rs_command
from httpclient import read_http


def run(*args, cwd=HERE):
    env = dict(os.environ, PYTHONPATH=HERE)
    return subprocess.run(
        waitress_rs_command() + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def get(server, path=b"/"):
    sock = server.connect()
    fp = sock.makefile("rb", 0)
    sock.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path)
    try:
        return read_http(fp)
    finally:
        sock.close()


def test_import_error_is_reported_as_waitress_serve_does():
    out = run("nonexistent:app")
    assert out.returncode == 1
    assert out.stderr.startswith("Error: No module named 'nonexistent'\n\n")
    assert "Usage: waitress-rs" in out.stderr
    assert out.stderr.endswith(
        "There was an exception (ModuleNotFoundError) importing your module.\n\n"
        "It had these arguments: \n1. No module named 'nonexistent'\n\n"
    )


def test_missing_attribute_is_an_import_error():
    out = run("fixtureapps.echo:nope")
    assert out.returncode == 1
    assert "There was an exception (AttributeError) importing your module." in out.stderr


@pytest.mark.parametrize("target", ["fixtureapps.runner:zero", "fixtureapps.runner:forty_two"])
@pytest.mark.parametrize("call", [False, True])
def test_an_int_is_an_app_that_fails_not_an_exit_status(start_server, target, call):
    # waitress-serve serves whatever the name resolves to; each request is a 500. (An int
    # used to be read as the loader's exit status: `...:zero` exited 0 without a word.)
    if call:
        target = "fixtureapps.runner:returns_an_int"
    server = start_server(*(["--call"] if call else []), target)
    line, headers, body = get(server)
    assert line.startswith(b"HTTP/1.0 500 ")
    assert server.wait_for_log(r"TypeError: 'int' object is not callable")


def test_call_runs_the_factory(start_server):
    server = start_server("--call", "fixtureapps.runner:returns_app")
    assert get(server)[2] == b"notsleepy returned"


def test_a_factory_returning_none_is_refused():
    out = run("--listen", "127.0.0.1:0", "--call", "fixtureapps.runner:app")
    assert out.returncode == 1
    assert 'The "app" passed to ``create_server`` was ``None``.' in out.stderr


def test_dotted_name_without_colon(start_server):
    server = start_server("fixtureapps.sleepy.app")
    assert get(server)[2] == b"notsleepy returned"


def test_no_application_is_a_usage_error():
    out = run("--listen", "127.0.0.1:0")
    assert out.returncode == 2
    assert "no application" in out.stderr


def test_unknown_flag_is_a_usage_error():
    out = run("--bogus", "fixtureapps.echo:app")
    assert out.returncode == 2
    assert "--bogus" in out.stderr


def test_help_goes_to_stdout():
    out = run("--help")
    assert out.returncode == 0
    assert "--threads" in out.stdout


def test_check_prints_the_settings():
    out = run("--check", "--threads=3", "--listen", "127.0.0.1:9999", "fixtureapps.echo:app")
    assert out.returncode == 0, out.stderr
    assert "threads = 3" in out.stdout
    assert "listen = 127.0.0.1:9999" in out.stdout


def test_bad_settings_exit_78_with_one_message_per_problem():
    out = run("--host=127.0.0.1", "--listen=127.0.0.1:1", "--threads=x", "fixtureapps.echo:app")
    assert out.returncode == 78
    assert "host or port may not be set if listen is set." in out.stderr
    assert 'threads = "x" (--threads): expected a whole number' in out.stderr


def test_address_in_use_exits_69():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        out = run("--listen", "127.0.0.1:%d" % s.getsockname()[1], "fixtureapps.echo:app")
    finally:
        s.close()
    assert out.returncode == 69
    assert "waitress-rs: error:" in out.stderr


def test_builtin_rust_apps_still_work(start_server):
    server = start_server("--app", "echo")
    line, headers, body = get(server, b"/hello")
    assert line == b"HTTP/1.0 200 OK\r\n"


def test_config_file_loads_app_main_through_pastedeploy(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\n"
        "use = call:fixtureapps.pasteapp:make_app\n"
        "greeting = bonjour\n\n"
        "[server:main]\n"
        "use = egg:waitress-rs#main\n"
        "listen = 127.0.0.1:0\n"
        "threads = 2\n"
    )
    server = Server([], command=waitress_rs_command() + ["--config", str(ini)])
    try:
        assert get(server, b"/x")[2] == b"bonjour from /x"
    finally:
        server.stop()


def test_name_value_arguments_reach_both_sections_as_pserves_do(tmp_path):
    # A Heroku-style file: the port (and here the app's greeting) come from the command line,
    # as `pserve app.ini http_port=$PORT` gives them to PasteDeploy.
    ini = tmp_path / "vars.ini"
    ini.write_text(
        "[app:main]\n"
        "use = call:fixtureapps.pasteapp:make_app\n"
        "greeting = %(word)s\n\n"
        "[server:main]\n"
        "use = egg:waitress-rs#main\n"
        "listen = 127.0.0.1:%(http_port)s\n"
    )
    command = waitress_rs_command() + ["--config", str(ini), "http_port=0", "word=salut"]
    server = Server([], command=command)
    try:
        assert get(server, b"/v")[2] == b"salut from /v"
    finally:
        server.stop()


def test_python_m_waitress_rs(start_server):
    server = Server(
        ["--listen", "127.0.0.1:0", "fixtureapps.sleepy:app"],
        command=[sys.executable, "-m", "waitress_rs", "--listen", "127.0.0.1:0", "fixtureapps.sleepy:app"],
    )
    try:
        assert get(server)[2] == b"notsleepy returned"
    finally:
        server.stop()


@pytest.mark.parametrize("level", ["TRACE", "Warn", "critical"])
def test_log_level_in_any_case_reaches_logging(level):
    # The binary's spellings: Python's logging knows neither TRACE nor warn, so the console
    # script must hand it the level they mean (it failed with "Unknown level: 'TRACE'").
    out = subprocess.run(
        waitress_rs_command() + ["--log-level", level, "--check", "--app", "echo"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
