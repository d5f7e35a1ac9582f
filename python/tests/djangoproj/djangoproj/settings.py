import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django_prodserver",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "djangoproj.urls"
WSGI_APPLICATION = "djangoproj.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(os.environ.get("WAITRESS_RS_TEST_TMP", BASE_DIR), "django.sqlite3"),
        # Persistent connections: each worker thread keeps its own between requests.
        "CONN_MAX_AGE": 600,
    }
}
USE_TZ = True
PRODUCTION_PROCESSES = {
    "web": {
        "BACKEND": "waitress_rs.contrib.django_prodserver.WaitressRsServer",
        "ARGS": {"listen": "127.0.0.1:0", "threads": "2", "ident": "waitress-rs-django"},
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"waitress": {"handlers": ["console"], "level": "INFO"}},
}
