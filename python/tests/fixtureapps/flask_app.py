"""A small Flask app: templates-free pages, JSON, cookies, a form post, streaming, send_file."""

import io
import os

from flask import Flask, Response, jsonify, request, send_file, stream_with_context

app = Flask(__name__)


@app.route("/")
def index():
    return "<h1>Hello from Flask</h1>"


@app.route("/json")
def as_json():
    return jsonify(method=request.method, args=request.args, server=request.environ["SERVER_SOFTWARE"])


@app.route("/cookies")
def cookies():
    return jsonify(request.cookies.to_dict())


@app.route("/form", methods=["POST"])
def form():
    return jsonify(form=request.form.to_dict(), length=request.content_length)


@app.route("/upload", methods=["POST"])
def upload():
    data = request.files["file"].read()
    return jsonify(size=len(data), name=request.files["file"].filename)


@app.route("/stream")
def stream():
    def gen():
        for i in range(5):
            yield f"line {i}\n"

    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.route("/file")
def a_file():
    path = os.path.join(os.environ["WAITRESS_RS_TEST_TMP"], "flask-file.bin")
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 1000)
    return send_file(path, mimetype="application/octet-stream")


@app.route("/boom")
def boom():
    raise RuntimeError("flask view failed")
