def chunks(l, n):
    """Yield successive n-sized chunks from l."""
    for i in range(0, len(l), n):
        yield l[i : i + n]


def gen(body):
    yield from chunks(body, 10)


class Sized:
    """An iterable of one part that is not a list: its __len__ is what tells the server."""

    def __init__(self, part):
        self.part = part

    def __len__(self):
        return 1

    def __iter__(self):
        return iter([self.part])


def app(environ, start_response):
    cl = environ.get("CONTENT_LENGTH", None)
    if cl is not None:
        cl = int(cl)
    body = environ["wsgi.input"].read(cl)
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/list":
        return [body]
    if environ["PATH_INFO"] == "/sized":
        return Sized(body)
    if environ["PATH_INFO"] == "/list_lentwo":
        return [body[0:1], body[1:]]
    return gen(body)
