import threading

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("<h1>Hello from Django</h1>")


def db(request):
    # The connection lives in a thread-local: with long-lived worker thread states the same
    # connection object serves every request on a worker.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 + 1")
        (value,) = cursor.fetchone()
    return JsonResponse({"value": value, "connection": id(connection.connection), "thread": threading.get_ident()})


@csrf_exempt
def echo(request):
    return JsonResponse({"method": request.method, "body": request.body.decode(), "post": request.POST.dict()})


urlpatterns = [path("", index), path("db", db), path("echo", echo)]
