def app():  # pragma: no cover
    return None


def returns_app():  # pragma: no cover
    from .sleepy import app as _app

    return _app


# Not applications: waitress-serve serves them anyway, and each request fails.
zero = 0
forty_two = 42


def returns_an_int():  # pragma: no cover
    return 3
