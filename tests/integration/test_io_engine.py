"""The Win32 I/O engine under load (service/win32/iocp_engine_win32.c).

Connection sockets are in FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode: a
receive that finds its bytes already there, or a send the socket takes at
once, queues no completion packet and is delivered by the thread that
posted it. These tests hold the engine to what that must not cost:

- one connection whose I/O keeps completing at once (a client that keeps
  its pipeline full) does not keep an I/O thread from every other packet:
  another client is served meanwhile, with a single I/O thread;
- a graceful stop while clients stream request bodies faster than they are
  read: the I/O threads take their quit packets (before the bound, an I/O
  thread delivering one such connection's receives inline never did, and
  the stop waited 30 s for each I/O thread);
- a graceful stop while many keep-alive clients pipeline requests (static
  files and an extension, with and without a filter that sees every
  notification and every outgoing byte) ends with exit code 0, every
  filter unloaded after TerminateFilter, and the "stopped" line."""

import socket
import threading
import time

import pytest

from ihserver import HttpConn, expect_status, scaled, win_path, write_files

STATIC = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
EXTENSION = b"GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n"


def dll(ih, name):
    path = ih.build_dir / "tests" / "dlls" / name
    if not path.is_file():
        pytest.fail(f"test DLLs not built: {path} missing", pytrace=False)
    return path


class Pipeliner:
    """A client that keeps its pipeline full: one thread sends requests in
    batches as fast as the socket takes them, another reads the responses.
    Runs until stop() or until the server closes the connection."""

    def __init__(self, port, request=STATIC, batch=64):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(30))
        self.batch = request * batch
        self.per_batch = batch
        self.stopping = threading.Event()
        self.sent = 0
        self.answered = 0
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for t in self.threads:
            t.start()

    def _send(self):
        while not self.stopping.is_set():
            try:
                self.sock.sendall(self.batch)
            except OSError:
                return
            self.sent += self.per_batch

    def _read(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            self.answered += data.count(b"HTTP/1.1 200 ")

    def sending(self):
        return self.threads[0].is_alive()

    def stop(self):
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for t in self.threads:
            t.join(timeout=scaled(10))


def test_a_full_pipeline_does_not_starve_other_connections(ih):
    """With one I/O thread, every receive of the pipelining client finds
    bytes waiting and every send goes at once. Delivered inline without a
    bound, that thread would serve the one client for as long as it keeps
    sending and never take the packet of the other connection (before the
    bound: no answer within 10 s while the flood went on)."""
    cfg = ih.new_config("engine_fair")
    cfg.server["worker_threads"] = 1
    write_files(cfg.workdir / "www", {"a.txt": b"A" * 100})
    with ih.start(cfg) as srv:
        flood = Pipeliner(srv.port)
        try:
            deadline = time.monotonic() + scaled(5)
            while flood.answered < 1000 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert flood.answered >= 1000, f"the pipelining client got {flood.answered} responses in 5 s"
            with HttpConn(srv.port, timeout=scaled(20)) as other:
                r = other.request("GET", "/a.txt")
                expect_status(r, 200, "a second client while the first keeps its pipeline full")
            assert flood.sending(), "the flood must still be going when the second client is answered"
        finally:
            flood.stop()


@pytest.mark.parametrize("filtered", [False, True], ids=["no-filter", "filter"])
def test_stop_while_clients_pipeline(ih, filtered):
    """SIGINT while 24 clients pipeline (1 to 8 requests deep, static and
    extension): the drain closes them after their response in flight, the
    stop ends with exit code 0 and the filter is unloaded after every
    END_OF_NET_SESSION."""
    cfg = ih.new_config("engine_stop_filter" if filtered else "engine_stop")
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"a.txt": b"A" * 1024, "app.isa": b"script source\n"})
    cfg.section("scriptmap main .isa").update(dll=win_path(dll(ih, "ext_echo.dll")))
    if filtered:
        cfg.section("filter script").update(dll=win_path(dll(ih, "flt_script.dll")))
    srv = ih.start(cfg)
    clients = []
    try:
        for i in range(24):
            clients.append(Pipeliner(srv.port, EXTENSION if i % 3 == 0 else STATIC, batch=1 + i % 8))
        deadline = time.monotonic() + scaled(10)
        while sum(c.answered for c in clients) < 500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sum(c.answered for c in clients) >= 500, "the clients were not being served"
        srv.stop()  # asserts exit code 0 within the harness's stop timeout
    except BaseException:
        srv.kill()
        raise
    finally:
        for c in clients:
            c.stop()
    log = srv.server_log.read_text(errors="replace")
    assert "IH1004" in log, log[-1500:]
    assert "I/O thread(s) still busy" not in log, log[-1500:]
    if filtered:
        assert "IH3004 filter script" in log and "unloaded (after TerminateFilter(0))" in log, log[-1500:]


def test_stop_while_clients_stream_bodies(ih):
    """Two clients send a body of a terabyte as fast as the socket takes it,
    with one I/O thread: each receive finds bytes waiting. The drain gives up
    on them (drain_timeout = 1), and the I/O thread must still take its quit
    packet: no "still busy" line, exit code 0, the "stopped" line."""
    cfg = ih.new_config("engine_stream_stop")
    cfg.server["worker_threads"] = 1
    cfg.server["drain_timeout"] = 1
    cfg.server["max_body"] = 1 << 40
    write_files(cfg.workdir / "www", {"a.txt": b"A" * 100})
    srv = ih.start(cfg)
    stopping = threading.Event()
    sent = [0, 0]

    def stream(i):
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=scaled(30)) as s:
                s.sendall(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n")
                chunk = b"x" * (1 << 20)
                while not stopping.is_set():
                    s.sendall(chunk)
                    sent[i] += len(chunk)
        except OSError:
            pass

    streams = [threading.Thread(target=stream, args=(i,), daemon=True) for i in range(2)]
    try:
        for t in streams:
            t.start()
        deadline = time.monotonic() + scaled(10)
        while min(sent) < (64 << 20) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert min(sent) >= (64 << 20), f"the bodies did not flow: {sent} bytes sent"
        srv.stop()
    except BaseException:
        srv.kill()
        raise
    finally:
        stopping.set()
        for t in streams:
            t.join(timeout=scaled(10))
    log = srv.server_log.read_text(errors="replace")
    assert "I/O thread(s) still busy" not in log, log[-1500:]
    assert "IH1004" in log, log[-1500:]
