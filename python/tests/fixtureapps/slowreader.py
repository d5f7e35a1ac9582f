"""Large responses for a client that does not read them, next to a small one.

``/parts?N``: N parts of 4 KiB from a generator. ``/write?N``: the same through the `write`
callable. ``/one?N``: one part of N bytes. Anything else: ``ok``.
"""

PART = b"x" * 4096


def app(environ, start_response):  # pragma: no cover
    path = environ["PATH_INFO"]
    n = int(environ.get("QUERY_STRING") or 0)
    if path == "/parts":
        start_response("200 OK", [("Content-Length", str(n * len(PART)))])
        return (PART for _ in range(n))
    if path == "/write":
        write = start_response("200 OK", [("Content-Length", str(n * len(PART)))])
        for _ in range(n):
            write(PART)
        return []
    if path == "/one":
        start_response("200 OK", [("Content-Length", str(n))])
        return [b"y" * n]
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
