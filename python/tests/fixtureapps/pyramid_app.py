"""A Pyramid app as a Pyramid project's main() builds it."""

from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    return Response("<h1>Hello from Pyramid, %s</h1>" % request.registry.settings["greeting"])


def json_view(request):
    return {"path": request.path, "scheme": request.scheme, "host": request.host}


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.add_route("hello", "/")
        config.add_route("json", "/json")
        config.add_view(hello, route_name="hello")
        config.add_view(json_view, route_name="json", renderer="json")
        return config.make_wsgi_app()
