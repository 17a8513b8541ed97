#!/usr/bin/env python3
"""Memory per idle keep-alive connection: python3 bench/idle.py --exe ISAPIHOST.EXE [--counts 1000,5000,10000] [--park-wait S]

Starts isapihost.exe under Wine (WINEPREFIX must name a booted prefix: see
cmake/wine-prefix.sh) with a one-file static site, warms it up, then opens
idle keep-alive connections in steps up to each count. Every connection
sends one GET and reads its whole response, so it holds what a real
keep-alive client leaves behind between requests, then stays open and
silent. After each step it reads private_bytes (committed private memory)
and connections_live from the status page and prints the growth per idle
connection since the start: once right after the step (the connections
still hold their input buffers) and once more --park-wait seconds later
(default 5), when they have parked (an idle connection gives its input
buffer back after 2 s: docs/architecture.md). Memory, not time: the figure does not depend
on how busy the machine is.

Bounded: at most --max connections (10,000 by default), every socket
operation has a timeout, and the server is stopped (SIGINT, then SIGKILL)
whatever happens. Traffic goes to 127.0.0.1 only.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0


def win_path(path):
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /_isapihost/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"status page: {head[:200]!r}")
    return json.loads(body)


def open_idle(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed a keep-alive connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(65536)
    return s


def settle(port, want_live):
    deadline = time.monotonic() + TIMEOUT
    while True:
        st = status(port)
        if st["connections_live"] == want_live or time.monotonic() > deadline:
            return st
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", required=True, help="isapihost.exe (an optimised build: mingw-x64-release)")
    ap.add_argument("--counts", default="1000,5000,10000", help="idle connections at each step")
    ap.add_argument("--max", type=int, default=10000, help="upper bound of any count")
    ap.add_argument("--park-wait", type=float, default=5.0,
                    help="seconds to wait after each step before the second reading (0: no second reading)")
    args = ap.parse_args()
    counts = sorted(int(n) for n in args.counts.split(","))
    if not counts or counts[0] < 1 or counts[-1] > args.max:
        ap.error(f"counts must be between 1 and --max ({args.max})")
    if not os.environ.get("WINEPREFIX"):
        ap.error("WINEPREFIX is not set (source cmake/wine-prefix.sh; wine_prefix_up DIR)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = counts[-1] + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    work = tempfile.mkdtemp(prefix="ih-idle.")
    port = free_port()
    os.makedirs(os.path.join(work, "www"))
    with open(os.path.join(work, "www", "index.html"), "wb") as f:
        f.write(b"x" * 1024)
    with open(os.path.join(work, "isapihost.ini"), "w") as f:
        f.write(f"[server]\nlog_dir = {win_path(os.path.join(work, 'logs'))}\n"
                f"max_connections = {counts[-1] + 100}\nkeepalive_timeout = 600\n"
                f"[site bench]\nbindings = 127.0.0.1:{port}\nroot = {win_path(os.path.join(work, 'www'))}\n"
                "log = off\n")
    env = dict(os.environ, WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d")
    env.pop("DISPLAY", None)
    out = open(os.path.join(work, "server.out"), "wb")
    proc = subprocess.Popen(["wine", args.exe, "run", "--config", win_path(os.path.join(work, "isapihost.ini"))],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    conns = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status(port)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {work}/server.out")
                time.sleep(0.3)
        request = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
        for _ in range(20):  # warm up: file cache, first buffers, thread stacks
            open_idle(port, request).close()
        base = settle(port, 0)
        print(f"idle keep-alive connections, isapihost {args.exe}")
        print(f"baseline: private_bytes {base['private_bytes']}, handles {base['handles']}")
        print(f"{'connections':>11} {'private bytes':>14} {'per connection':>15} "
              f"{'parked: private bytes':>22} {'per connection':>15} {'handles':>8}")
        for n in counts:
            while len(conns) < n:
                conns.append(open_idle(port, request))
            st = settle(port, n)
            per = (st["private_bytes"] - base["private_bytes"]) / n
            parked, parked_per = "-", "-"
            if args.park_wait > 0:
                time.sleep(args.park_wait)
                later = settle(port, n)
                parked = str(later["private_bytes"])
                parked_per = f"{(later['private_bytes'] - base['private_bytes']) / n:.0f}"
            print(f"{st['connections_live']:>11} {st['private_bytes']:>14} {per:>15.0f} "
                  f"{parked:>22} {parked_per:>15} {st['handles']:>8}")
    finally:
        for s in conns:
            s.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
