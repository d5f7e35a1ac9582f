"""Side-by-side benchmark driver for waitress-rs. Run it through ``bench/run``, which installs
wrk, the venv and the builds first; this file uses the standard library only (matplotlib, from
the venv, is imported for the plot alone).

Every server is started on 127.0.0.1 with a free port, in its own process group, and stopped in
a ``finally`` (SIGTERM, then SIGKILL), so Ctrl-C or an error never leaves one running.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, "work")
VENV = os.path.join(BENCH, ".venv")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# Connection limits: waitress's default (100) would refuse most of 256 or 10,000 connections.
CONN_LIMIT = "11000"


# --------------------------------------------------------------------------- servers

# `--split`: the CPUs the servers may use; None runs them beside the clients on every CPU.
SERVER_CPUS: set[int] | None = None


def _on_server_cpus() -> None:
    """Runs in each server's child process before it executes (Popen's preexec_fn), so that
    every thread the server starts inherits the CPUs. preexec_fn is unsafe while other threads
    run; servers are started only from the main thread with none (PeakRss joins its own)."""
    if SERVER_CPUS is not None:
        os.sched_setaffinity(0, SERVER_CPUS)


@dataclass
class Server:
    name: str
    argv: list[str]
    group: str  # "rust" or "python": which hello-world table it belongs to
    env: dict = field(default_factory=dict)
    cwd: str | None = None
    features: set = field(default_factory=set)  # upload, download, file, idle
    file_path: str = "/file"
    note: str = ""
    proc: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> None:
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        env = dict(os.environ, **self.env)
        log = open(os.path.join(WORK, "logs", f"{self.name}.log"), "ab")
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, process_group=0,
                                     preexec_fn=_on_server_cpus)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"see bench/work/logs/{self.name}.log")
            try:
                status, _ = http_get(self.port, "/", timeout=1)
                if 100 <= status < 600:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after 30 s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def pids(self) -> list[int]:
        return tree(self.proc.pid) if self.proc else []

    def rss(self) -> int:
        return sum(rss_of(p) for p in self.pids())

    def cpu(self) -> float:
        return sum(cpu_of(p) for p in self.pids())

    def switches(self) -> int:
        return sum(switches_of(p) for p in self.pids())


def servers(only: set[str] | None, big: str) -> list[Server]:
    py = os.path.join(VENV, "bin")
    pyenv = {"BENCH_FILE": big, "PYTHONDONTWRITEBYTECODE": "1"}
    rel = os.path.join(TARGET, "release")
    out = [
        Server("waitress-rs", [os.path.join(rel, "examples", "hello"), "--listen",
                               "127.0.0.1:{port}", "--connection-limit", CONN_LIMIT],
               "rust", features={"idle"},
               note="examples/hello.rs (native Rust app), default 4 threads"),
        Server("waitress-rs echo", [os.path.join(rel, "waitress-rs"), "--listen",
                                    "127.0.0.1:{port}", "--app", "echo",
                                    "--connection-limit", CONN_LIMIT],
               "rust", note="built-in echo app (environ as JSON, ~600 B)"),
        # The operator's opt-in documented in the README ("Tuning"): the same program with every
        # thread SCHED_BATCH, so a woken worker does not preempt the loop that woke it.
        Server("waitress-rs batch", ["chrt", "--batch", "0", os.path.join(rel, "examples", "hello"),
                                     "--listen", "127.0.0.1:{port}",
                                     "--connection-limit", CONN_LIMIT],
               "rust", note="examples/hello.rs under `chrt --batch 0` (README, Tuning)"),
        Server("waitress-rs app", [os.path.join(rel, "waitress-bench-app"), "--listen",
                                   "127.0.0.1:{port}", "--connection-limit", CONN_LIMIT],
               "io", features={"upload", "download"},
               note="bench/waitress-app: hello + app-generated download"),
        Server("waitress-rs static", [os.path.join(rel, "waitress-rs"), "--listen",
                                      "127.0.0.1:{port}", "--app",
                                      "static:" + os.path.join(WORK, "static"),
                                      "--connection-limit", CONN_LIMIT],
               "io", features={"file"}, file_path="/big.bin",
               note="--app static:DIR"),
        Server("hyper", [os.path.join(TARGET, "hyper", "release", "hyper-hello"),
                         "127.0.0.1:{port}"],
               "rust", features={"idle"}, note="bench/hyper-hello: hyper 1 + tokio multi-thread"),
        Server("waitress", [os.path.join(py, "waitress-serve"), "--listen=127.0.0.1:{port}",
                            "--connection-limit=" + CONN_LIMIT, "apps:hello"],
               "python", env=pyenv, cwd=BENCH, features={"upload", "download", "file"},
               note="waitress-serve, default 4 threads"),
        Server("waitress-rs python", [os.path.join(py, "waitress-rs"),
                                      "--listen=127.0.0.1:{port}",
                                      "--connection-limit=" + CONN_LIMIT, "apps:hello"],
               "python", env=pyenv, cwd=BENCH, features={"upload", "download", "file"},
               note="the waitress_rs Python package running apps:hello, default 4 threads"),
        Server("gunicorn", [os.path.join(py, "gunicorn"), "-k", "gthread", "-w", "1",
                            "--threads", "4", "-b", "127.0.0.1:{port}", "apps:hello"],
               "python", env=pyenv, cwd=BENCH, features={"upload", "download", "file"},
               note="gthread worker, 1 process x 4 threads"),
        Server("granian", [os.path.join(py, "granian"), "--interface", "wsgi", "--host",
                           "127.0.0.1", "--port", "{port}", "--workers", "1", "--no-access-log",
                           "apps:hello"],
               "python", env=pyenv, cwd=BENCH, features={"upload", "download", "file"},
               note="--interface wsgi, 1 worker process"),
    ]
    present = [s for s in out
               if shutil.which(s.argv[0]) and all(os.path.exists(a) for a in s.argv[1:]
                                                  if a.startswith("/"))]
    missing = [s.name for s in out if s not in present]
    if missing:
        print(f"# not built/installed, skipped: {', '.join(missing)}", file=sys.stderr)
    if only is not None:
        present = [s for s in present if s.name.split()[0] in only or s.name in only]
    return present


# --------------------------------------------------------------------------- /proc helpers


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / TICK
    except (OSError, IndexError):
        return 0.0


def switches_of(pid: int) -> int:
    """Context switches (voluntary and not) of all of a process's threads so far."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.endswith("ctxt_switches"):  # voluntary_ and nonvoluntary_
                        total += int(value)
        except (OSError, ValueError):
            pass
    return total


def machine_idle() -> tuple[int, int]:
    """The machine's idle and total CPU time so far (/proc/stat's first line, in ticks)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait
    except (OSError, ValueError, IndexError):
        return 0, 0


class PeakRss:
    """Samples a server's RSS (summed over its process tree) every 20 ms while active."""

    def __init__(self, server: Server):
        self.server, self.peak, self._stop = server, server.rss(), threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.server.rss())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.server.rss())


# --------------------------------------------------------------------------- clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_response(sock: socket.socket, sink: bool = False) -> tuple[int, int]:
    """Reads one Content-Length response; returns (status, body length)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    got = len(rest)
    if got < length:
        scratch = bytearray(MIB)
        view = memoryview(scratch)
        while got < length:
            n = sock.recv_into(view, min(len(scratch), length - got))
            if n == 0:
                raise OSError("connection closed mid-body")
            got += n
    return status, length


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, int]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        return read_response(s)


def rotated(servers: list, rep: int) -> list:
    """The servers in the order for repetition `rep`: each repetition starts one further on,
    so a slow spell of the machine is not always the same server's."""
    shift = rep % len(servers) if servers else 0
    return servers[shift:] + servers[:shift]


def upload(server: Server, size: int) -> dict:
    before = server.rss()
    piece = b"u" * (256 << 10)
    with PeakRss(server) as peak:
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as s:
            s.sendall(f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      f"application/octet-stream\r\nContent-Length: {size}\r\n\r\n".encode())
            left = size
            while left:
                n = min(left, len(piece))
                s.sendall(piece[:n] if n < len(piece) else piece)
                left -= n
            status, _ = read_response(s)
        secs = time.perf_counter() - t0
    return {"status": status, "secs": secs, "rss_before": before, "rss_peak": peak.peak}


def download(server: Server, path: str) -> dict:
    before = server.rss()
    with PeakRss(server) as peak:
        t0 = time.perf_counter()
        status, length = http_get(server.port, path, timeout=120)
        secs = time.perf_counter() - t0
    return {"status": status, "bytes": length, "secs": secs, "rss_before": before,
            "rss_peak": peak.peak}


def idle_connections(server: Server, n: int, probes: int) -> dict:
    before = server.rss()
    socks = []
    req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            s.sendall(req)
            read_response(s)
            socks.append(s)
        time.sleep(0.5)
        held = server.rss()
        lat = []
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            for _ in range(probes):
                t0 = time.perf_counter()
                s.sendall(req)
                read_response(s)
                lat.append(time.perf_counter() - t0)
        # and a new connection each time
        lat_new = []
        for _ in range(max(probes // 4, 1)):
            t0 = time.perf_counter()
            http_get(server.port, "/")
            lat_new.append(time.perf_counter() - t0)
    finally:
        for s in socks:
            s.close()
    lat.sort()
    return {"n": n, "rss_before": before, "rss_held": held,
            "per_conn": (held - before) / n,
            "p50": statistics.median(lat), "p99": lat[min(len(lat) - 1, int(len(lat) * .99))],
            "new_conn_p50": statistics.median(lat_new)}


# --------------------------------------------------------------------------- wrk

# (key, label, connections, wrk threads (None: min(conns, nproc)), extra wrk args)
SCENARIOS = [
    ("c1", "1 conn", 1, None, []),
    ("c50", "50 conns", 50, None, []),
    ("c256", "256 conns", 256, None, []),
    ("close50", "50 conns, Connection: close", 50, None, ["-H", "Connection: close"]),
    # One client thread holding 50 keep-alive connections is how a single nginx worker with
    # upstream keep-alive loads a server. With wrk on one core, the server's threads share the
    # other, and waitress-rs's hand-off from loop to worker costs a context switch per request
    # there (0.65x hyper against 0.89x with two wrk threads, bench/NOTES.md); -t2 hides it.
    ("c50t1", "50 conns, 1 client thread", 50, 1, []),
]

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_dur(s: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", s)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(server: Server, conns: int, threads: int | None, extra: list[str], secs: float) -> dict:
    threads = threads or min(conns, len(os.sched_getaffinity(0)))
    argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(secs))}s", "--latency",
            "--timeout", "5s", *extra, f"http://127.0.0.1:{server.port}/"]
    cpu0, switches0, idle0 = server.cpu(), server.switches(), machine_idle()
    with PeakRss(server) as peak:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 30)
    out = proc.stdout
    if proc.returncode != 0:
        print(f"# wrk failed ({proc.returncode}): {proc.stderr.strip() or out.strip()}", file=sys.stderr)
    cpu, switches, idle1 = server.cpu() - cpu0, server.switches() - switches0, machine_idle()
    total = idle1[1] - idle0[1]
    res = {"rps": 0.0, "p50": None, "p99": None, "errors": 0, "non2xx": 0, "requests": 0,
           "rss_peak": peak.peak, "cpu": cpu, "switches": switches,
           "idle": (idle1[0] - idle0[0]) / total if total > 0 else None}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            res[key] = parse_dur(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


# --------------------------------------------------------------------------- formatting


def fmt_rps(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt_t(v):
    if v is None:
        return "–"
    if v < 1e-3:
        return f"{v * 1e6:.0f} µs"
    if v < 1:
        return f"{v * 1e3:.2f} ms"
    return f"{v:.2f} s"


def fmt_cpu(us):
    """CPU time per request: a tenth of a µs matters when servers are 1 µs apart."""
    return "–" if us is None else (f"{us:.1f} µs" if us < 100 else f"{us:.0f} µs")


def fmt_switches(n):
    return "–" if n is None else f"{n:.2f}"


def fmt_pct(share):
    return "–" if share is None else f"{share * 100:.1f}%"


def fmt_mib(b):
    return "–" if b is None else f"{b / MIB:.1f}"


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return (f"{model}, {os.cpu_count()} CPUs (nproc), {mem / 1024:.0f} GiB RAM, "
            f"Linux {platform.release()}, {wrk_v.strip()}, Python {platform.python_version()}")


# --------------------------------------------------------------------------- main


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    # Ctrl-C, and SIGTERM/SIGHUP from a CI timeout, unwind through the `finally` that stops the
    # servers (installed explicitly: a background job starts with SIGINT ignored).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    ap = argparse.ArgumentParser(description=__doc__)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="1 s per run, 1 repetition")
    mode.add_argument("--full", action="store_true", help="the default")
    ap.add_argument("--peers", help="comma-separated server names to run (waitress-rs always)")
    ap.add_argument("--duration", type=float, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, help="repetitions (median reported)")
    ap.add_argument("--out", help="markdown results file (default bench/results.md, "
                                  "bench/work/smoke.md in smoke mode)")
    ap.add_argument("--split", action="store_true",
                    help="servers on the first CPU, wrk and the other clients on the rest "
                         "(by default all share every CPU)")
    args = ap.parse_args()
    global SERVER_CPUS
    if args.split:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            print("bench/run: --split needs at least two CPUs", file=sys.stderr)
            return 2
        SERVER_CPUS = {cpus[0]}
        # wrk, the transfer clients and the idle connections inherit this process's CPUs.
        os.sched_setaffinity(0, set(cpus[1:]))

    smoke = args.smoke
    # 10 s runs, as the reference figures: at 5 s, waitress's own figure at 50
    # connections moved between 3.9k and 7.0k req/s from one full run to the next.
    secs = args.duration or (1.0 if smoke else 10.0)
    reps = args.reps or (1 if smoke else 3)
    io_size = (8 if smoke else 100) * MIB
    # A 100 MiB transfer takes 30-60 ms here, and three of them per server left the upload
    # ratio to granian anywhere between 0.81x and 1.32x from one full run to the next; nine
    # fresh-server transfers cost under a minute more.
    io_reps = reps * (1 if smoke else 3)
    idle_counts = [100] if smoke else [1000, 10000]
    # A split run is for comparison: it leaves the shared run the README shows alone.
    out_md = args.out or (os.path.join(WORK, "smoke.md") if smoke
                          else os.path.join(WORK, "results-split.md") if args.split
                          else os.path.join(BENCH, "results.md"))
    out_png = os.path.splitext(out_md)[0].replace("results", "plot") + ".png" \
        if not smoke else os.path.join(WORK, "smoke.png")
    if args.out is None and not smoke and not args.split:
        out_png = os.path.join(BENCH, "plot.png")

    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    os.makedirs(os.path.join(WORK, "static"), exist_ok=True)
    big = os.path.join(WORK, "static", "big.bin")
    if not os.path.exists(big) or os.path.getsize(big) != 100 * MIB:
        with open(big, "wb") as f:
            block = os.urandom(MIB)
            for _ in range(100):
                f.write(block)
    small = os.path.join(WORK, "static", "small.bin")
    if not os.path.exists(small) or os.path.getsize(small) != 8 * MIB:
        with open(small, "wb") as f:
            f.write(os.urandom(8 * MIB))
    file_name = "big.bin" if not smoke else "small.bin"

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard > 0 else want, hard))
    except (ValueError, OSError):
        pass
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    idle_counts = [n for n in idle_counts if n + 200 < nofile]

    only = None
    if args.peers:
        only = {p.strip() for p in args.peers.split(",") if p.strip()} | {"waitress-rs"}
    all_servers = servers(only, os.path.join(WORK, "static", file_name))
    hello = [s for s in all_servers if s.group in ("rust", "python")]
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    t_start = time.monotonic()
    results: dict[str, dict[str, list[dict]]] = {s.name: {k: [] for k, *_ in SCENARIOS}
                                                 for s in hello}
    idle_rss: dict[str, list[int]] = {s.name: [] for s in all_servers}
    io_rows: list[tuple[str, str, dict]] = []
    idle_rows: list[tuple[str, dict]] = []

    print(f"# {'smoke' if smoke else 'full'} run: {len(hello)} servers x {len(SCENARIOS)} "
          f"scenarios x {reps} reps x {secs:g} s", flush=True)
    running: list[Server] = []
    try:
        # Hello-world scenarios: every server runs at once (idle ones cost no CPU), and runs
        # rotate order each repetition so no server always goes first or last.
        for s in hello:
            s.start()
            running.append(s)
            http_get(s.port, "/")
            time.sleep(0.2)
            idle_rss[s.name].append(s.rss())
        for rep in range(reps):
            order = rotated(hello, rep)
            for key, label, conns, threads, extra in SCENARIOS:
                for s in order:
                    r = wrk(s, conns, threads, extra, secs)
                    results[s.name][key].append(r)
                    print(f"rep {rep + 1} {s.name:18} {label:28} {r['rps']:>10,.0f} req/s  "
                          f"p50 {fmt_t(r['p50']):>9}  p99 {fmt_t(r['p99']):>9}  "
                          f"rss {fmt_mib(r['rss_peak'])} MiB"
                          + (f"  errors {r['errors']}" if r["errors"] else "")
                          + (f"  non-2xx {r['non2xx']}" if r["non2xx"] else ""), flush=True)
                    time.sleep(0.2)
        for s in hello:
            idle_rss[s.name].append(s.rss())
        # Idle keep-alive connections, on the servers that take them (fresh start each).
        for s in [s for s in hello if "idle" in s.features]:
            s.stop()
            for n in idle_counts:
                s.start()
                r = idle_connections(s, n, 200 if not smoke else 20)
                s.stop()
                idle_rows.append((s.name, r))
                print(f"idle {s.name:18} {n:>6} conns: {r['per_conn'] / 1024:.1f} KiB/conn, "
                      f"request while held p50 {fmt_t(r['p50'])} p99 {fmt_t(r['p99'])}",
                      flush=True)
        for s in hello:
            s.stop()
        running.clear()

        # Upload and download: one server at a time, started fresh so peaks are its own.
        io_servers = [s for s in all_servers if s.features & {"upload", "download", "file"}]
        for rep in range(io_reps):
            for s in rotated(io_servers, rep):
                s.start()
                running.append(s)
                http_get(s.port, "/")
                time.sleep(0.2)
                if "upload" in s.features:
                    io_rows.append((s.name, "upload", upload(s, io_size)))
                if "download" in s.features:
                    io_rows.append((s.name, "download (app)",
                                    download(s, f"/download?{io_size}")))
                if "file" in s.features:
                    path = ("/" + file_name) if s.file_path != "/file" else "/file"
                    io_rows.append((s.name, "download (file)", download(s, path)))
                s.stop()
                running.remove(s)
                for name, kind, r in io_rows[-3:]:
                    if name == s.name:
                        print(f"io   {name:18} {kind:16} {r['secs']:.2f} s  peak RSS "
                              f"{fmt_mib(r['rss_peak'])} MiB (+{fmt_mib(r['rss_peak'] - r['rss_before'])})"
                              + ("" if r["status"] == 200 else f"  status {r['status']}"),
                              flush=True)
    finally:
        for s in running + all_servers:
            s.stop()

    elapsed = time.monotonic() - t_start
    loads = (load_start, os.getloadavg())
    md = report(hello, all_servers, results, idle_rss, io_rows, idle_rows, smoke, secs, reps,
                io_size, io_reps, started_at, elapsed, loads, args.split)
    with open(out_md, "w") as f:
        f.write(md)
    with open(os.path.join(WORK, "raw.json" if not smoke else "smoke.json"), "w") as f:
        json.dump({"results": results, "idle_rss": idle_rss, "io": io_rows, "idle": idle_rows},
                  f, indent=1, default=str)
    plotted = plot(hello, results, out_png, smoke)
    print()
    print(md)
    print(f"# wrote {os.path.relpath(out_md, ROOT)}"
          + (f" and {os.path.relpath(out_png, ROOT)}" if plotted else "")
          + f" in {elapsed:.0f} s")
    bad = [(n, k) for n, per in results.items() for k, runs in per.items()
           if any(r["rps"] <= 0 for r in runs)]
    if bad:
        print(f"# FAILED runs (no requests/s): {bad}", file=sys.stderr)
        return 1
    return 0


def report(hello, all_servers, results, idle_rss, io_rows, idle_rows, smoke, secs, reps,
           io_size, io_reps, started_at, elapsed, loads, split) -> str:
    summary = {}
    for s in hello:
        summary[s.name] = {}
        for key, *_ in SCENARIOS:
            runs = results[s.name][key]
            summary[s.name][key] = {
                "rps": med([r["rps"] for r in runs]),
                "p50": med([r["p50"] for r in runs]),
                "p99": med([r["p99"] for r in runs]),
                "errors": sum(r["errors"] + r["non2xx"] for r in runs),
                "cpu_us": med([r["cpu"] / r["requests"] * 1e6 for r in runs if r["requests"]]),
                "switches": med([r["switches"] / r["requests"] for r in runs if r["requests"]]),
                "idle": med([r["idle"] for r in runs if r["idle"] is not None]),
            }
        summary[s.name]["rss_idle"] = idle_rss[s.name][0] if idle_rss[s.name] else None
        summary[s.name]["rss_load"] = max(
            (r["rss_peak"] for k in results[s.name] for r in results[s.name][k]), default=None)

    flags = (" --smoke" if smoke else "") + (" --split" if split else "")
    cpus = (f"Each server runs alone on CPU {min(SERVER_CPUS)}, wrk and the other clients on "
            "the other CPUs (`--split`); " if split else
            "wrk and the servers share the machine's CPUs, so absolute numbers are lower than "
            "on a dedicated load generator; ")
    lines = [f"# waitress-rs benchmarks{' (smoke run: numbers meaningless)' if smoke else ''}",
             "",
             f"Generated by `bench/run{flags}` on "
             f"{started_at:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min.",
             "",
             f"Machine: {machine()}. {cpus}ratios are the "
             f"point. Load average (1 min) at the start {loads[0][0]:.2f}, at the end "
             f"{loads[1][0]:.2f} (the run's own servers and wrk count in it); other work on the "
             "machine, if any, is spread over all servers by the interleaving.",
             "",
             f"Method: each wrk run lasts {secs:g} s (`wrk -t min(conns, nproc) --latency`, "
             "or `-t 1` where the column says one client thread); "
             f"{reps} repetition{'s' if reps > 1 else ''}, median reported; every server runs "
             "every scenario once per repetition, in an order rotated each repetition, so load "
             "elsewhere on the machine hits all servers alike. Responses are the 13-byte "
             "`Hello, World!`. RSS is summed over the server's process tree from /proc: "
             "idle = after start and one request; load = peak sampled every 20 ms during the "
             "runs. CPU/req = server user+system CPU time over requests served, at 50 "
             "connections; switches/req = the server's context switches (all threads, "
             "voluntary or not) over requests served, at 50 connections; idle @50 = the "
             "share of the machine's CPU time left idle (/proc/stat) while wrk ran at 50 "
             "connections: CPU the server could not use, with the client on the same CPUs.",
             "", "![req/s against connections](plot.png)" if not smoke else "", ""]

    header = ["server"]
    for key, label, *_ in SCENARIOS:
        header += [f"{label} req/s", "p50", "p99"]
    header += ["CPU/req @50", "switches/req @50", "idle @50", "RSS idle MiB", "RSS load MiB"]
    rows = []
    for s in hello:
        row = [f"**{s.name}**" if s.name == "waitress-rs" else s.name]
        for key, *_ in SCENARIOS:
            v = summary[s.name][key]
            row += [fmt_rps(v["rps"]) + (f" ({v['errors']} err)" if v["errors"] else ""),
                    fmt_t(v["p50"]), fmt_t(v["p99"])]
        c50 = summary[s.name]["c50"]
        row += [fmt_cpu(c50["cpu_us"]), fmt_switches(c50["switches"]), fmt_pct(c50["idle"]),
                fmt_mib(summary[s.name]["rss_idle"]), fmt_mib(summary[s.name]["rss_load"])]
        rows.append(row)
    lines += ["## Hello world", "", table(header, rows), ""]

    if "waitress-rs" in summary:
        me = summary["waitress-rs"]
        header = ["waitress-rs ÷ peer"] + [f"{label} req/s" for _, label, *_ in SCENARIOS] \
            + ["p99 @50 (lower is better)"]
        rows = []
        for s in hello:
            if s.name == "waitress-rs":
                continue
            p = summary[s.name]
            row = [s.name]
            for key, *_ in SCENARIOS:
                a, b = me[key]["rps"], p[key]["rps"]
                row.append(f"{a / b:.2f}×" if a and b else "–")
            a, b = me["c50"]["p99"], p["c50"]["p99"]
            row.append(f"{a / b:.2f}×" if a and b else "–")
            rows.append(row)
        lines += ["## Ratios (waitress-rs native hello world against each)", "",
                  table(header, rows), ""]

    if io_rows:
        by = {}
        for name, kind, r in io_rows:
            by.setdefault((name, kind), []).append(r)
        rows = []
        for (name, kind), rs in by.items():
            secs_ = med([r["secs"] for r in rs])
            grow = med([r["rss_peak"] - r["rss_before"] for r in rs])
            ok = all(r["status"] == 200 for r in rs)
            rows.append([name, kind, f"{secs_:.2f} s", f"{io_size / MIB / secs_:,.0f} MiB/s",
                         fmt_mib(med([r["rss_peak"] for r in rs])), f"+{fmt_mib(grow)}",
                         "" if ok else "non-200!"])
        lines += [f"## {io_size // MIB} MiB upload and download (one request, fresh server)",
                  "", f"Each transfer on a server started for it; median of {io_reps}, "
                  "servers in an order rotated each time. Upload: POST with Content-Length to "
                  "an app that ignores (waitress-rs) or reads and discards (Python) the body. Download (app): the app generates the "
                  "body in 64 KiB parts. Download (file): waitress-rs `--app static:DIR`; "
                  "Python servers return `wsgi.file_wrapper(open(...))`.", "",
                  table(["server", "transfer", "time", "rate", "peak RSS MiB", "RSS growth MiB",
                         ""], rows), ""]

    if idle_rows:
        rows = [[name, f"{r['n']:,}", fmt_mib(r["rss_before"]), fmt_mib(r["rss_held"]),
                 f"{r['per_conn'] / 1024:.1f} KiB", fmt_t(r["p50"]), fmt_t(r["p99"]),
                 fmt_t(r["new_conn_p50"])] for name, r in idle_rows]
        lines += ["## Idle keep-alive connections", "",
                  "Each connection makes one request and is then held open; RSS is measured "
                  "0.5 s later. Latency: requests on one more keep-alive connection while they "
                  "are held, and (last column) a new connection per request.", "",
                  table(["server", "idle conns", "RSS before MiB", "RSS held MiB",
                         "RSS per conn", "new request p50", "p99", "new connection p50"], rows),
                  ""]

    py = summary.get("waitress-rs python")
    if py is None:
        lines += ["## Python WSGI hello world through waitress-rs", "",
                  "Not measured: the waitress_rs Python package is not installed in bench/.venv "
                  "(bash python/ci.sh builds its wheel; bench/run installs it).", ""]
    else:
        rows = []
        for peer in ("waitress", "gunicorn", "granian"):
            if peer in summary:
                rows.append([peer] + [
                    f"{py[k]['rps'] / summary[peer][k]['rps']:.2f}×"
                    if py[k]["rps"] and summary[peer][k]["rps"] else "–"
                    for k, *_ in SCENARIOS])
        lines += ["## Python WSGI hello world through waitress-rs", "",
                  "The same WSGI app (`bench/apps.py`) under the waitress_rs Python package, "
                  "against each Python peer (req/s ratio; targets: at least 10× waitress and at "
                  "least granian's one-worker figure at 50 connections).", "",
                  table(["waitress-rs python ÷ peer"] + [label for _, label, *_ in SCENARIOS],
                        rows), ""]
    lines += ["## Servers", "", table(["server", "configuration"],
                                      [[s.name, s.note] for s in all_servers]), ""]
    return "\n".join(lines)


def plot(hello, results, path, smoke):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("# matplotlib not installed: no plot", file=sys.stderr)
        return False
    keys = [(k, c) for k, _, c, threads, extra in SCENARIOS if threads is None and not extra]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for s in hello:
        ys = [med([r["rps"] for r in results[s.name][k]]) or 0 for k, _ in keys]
        ax.plot([c for _, c in keys], ys, marker="o",
                linewidth=2.5 if s.name == "waitress-rs" else 1.5, label=s.name)
    ax.set_xscale("log")
    ax.set_xticks([c for _, c in keys])
    ax.set_xticklabels([str(c) for _, c in keys])
    ax.set_xlabel("keep-alive connections (wrk)")
    ax.set_ylabel("requests/s (median)")
    ax.set_title("Hello world, req/s against connections" + (" (smoke)" if smoke else ""))
    ax.grid(True, alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print(f"# interrupted ({e}); every server was stopped", file=sys.stderr)
        sys.exit(130)
