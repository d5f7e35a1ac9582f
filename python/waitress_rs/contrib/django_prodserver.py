"""A django-prodserver backend: serve the Django project with waitress-rs.

In ``settings.py`` (the same ``ARGS`` as django-prodserver's waitress backend)::

    PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": "waitress_rs.contrib.django_prodserver.WaitressRsServer",
            "ARGS": {"listen": "0.0.0.0:8111", "threads": "8"},
        },
    }

then ``python manage.py server web``.
"""

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.utils import wsgi_app_name

from .. import runner


class WaitressRsServer(BaseServerBackend):
    """Sends every argument to ``waitress-rs``, as the waitress backend does to waitress."""

    def start_server(self, *args: str) -> None:
        """Start the server; a failure to start exits with the command's status."""
        status = runner.run(argv=list(args))
        if status:
            raise SystemExit(status)

    def prep_server_args(self) -> list[str]:
        """``waitress-rs [ARGS as --key=value] project.wsgi:application``."""
        args = ["waitress-rs"]
        args.extend(self.args)
        args.append(wsgi_app_name())
        return args
