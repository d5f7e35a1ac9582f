"""The ``waitress-rs`` console script: ``waitress-rs [OPTIONS] MODULE:OBJECT``.

The command line is the ``waitress-rs`` binary's (every waitress setting as a flag,
``--config FILE`` for a PasteDeploy INI file, ``--check``), plus waitress-serve's application
argument and ``--call``. Import errors are reported as waitress-serve reports them (exit 1).
"""

import logging
import os
import pkgutil
import sys

from . import _native


def _show_help(stream, error=None):
    if error is not None:
        print(f"Error: {error}\n", file=stream)
    print(_native.help_text(), file=stream)


def _show_exception(stream):
    exc_type, exc_value = sys.exc_info()[:2]
    args = getattr(exc_value, "args", None)
    print(
        f"There was an exception ({exc_type.__name__}) importing your module.\n",
        file=stream,
    )
    if args:
        print("It had these arguments: ", file=stream)
        for idx, arg in enumerate(args, start=1):
            print(f"{idx}. {arg}\n", file=stream)
    else:
        print("It had no arguments.", file=stream)


def _load_target(target, call):
    sys.path.append(os.getcwd())
    try:
        app = pkgutil.resolve_name(target)
    except (ValueError, ImportError, AttributeError) as exc:
        _show_help(sys.stderr, str(exc))
        _show_exception(sys.stderr)
        return None, 1
    if call:
        app = app()
    return app, None


def _load_config(path, call, config_vars):
    try:
        from paste.deploy import loadapp
    except ImportError:
        print(
            f"waitress-rs: error: {path}: [app:main] is a Python application; loading it "
            "needs PasteDeploy (pip install PasteDeploy)",
            file=sys.stderr,
        )
        return None, 2
    path = os.path.abspath(path)
    _setup_logging(path, config_vars)
    # As pserve: the command line's NAME=VALUE variables are PasteDeploy's global_conf.
    app = loadapp("config:" + path, global_conf=dict(config_vars) or None)
    if call:
        app = app()
    return app, None


def _setup_logging(path, config_vars):
    """As pserve does: a file with a ``[loggers]`` section configures ``logging``, with the
    command line's variables among the defaults its ``%(name)s`` may use."""
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return
    if parser.has_section("loggers"):
        import logging.config

        defaults = dict(config_vars)
        defaults.update({"__file__": path, "here": os.path.dirname(path)})
        logging.config.fileConfig(path, defaults, disable_existing_loggers=False)


def _load(kind, value, call, config_vars):
    """``(app, None)``, or ``(None, status)`` once the problem is reported. (A bare int meant
    a status before, so an application object that was a small int became the exit status.)"""
    if kind == "target":
        return _load_target(value, call)
    return _load_config(value, call, config_vars)


def run(argv=None):
    """Run the command line ``argv`` (``sys.argv`` by default); returns the exit status."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        argv = ["waitress-rs"]
    logging.basicConfig()
    logger = logging.getLogger("waitress")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return _native.cli_main([str(a) for a in argv], _load)


if __name__ == "__main__":
    sys.exit(run())
