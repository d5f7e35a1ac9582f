"""A PasteDeploy app factory (``use = call:fixtureapps.pasteapp:make_app``)."""


def make_app(global_conf, **settings):
    greeting = settings.get("greeting", "hello").encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [greeting + b" from " + environ["PATH_INFO"].encode()]

    return app
