"""Starts a real `sgrun serve` on a free loopback port and talks HTTP to it (tests and bench)."""
import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time


class Server:
    def __init__(self, sgrun, args, env=None, start_timeout=300):
        cmd = [sgrun, "serve", "--host", "127.0.0.1", "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     env={**os.environ, **(env or {})})
        self.lines = []          # every stderr line
        self.events = []         # the ones that parse as JSON objects
        self._lock = threading.Lock()
        self._port = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.port = self._port.get(timeout=start_timeout)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + "".join(self.lines[-30:]))
        if self.port is None:
            raise RuntimeError("server exited at start:\n" + "".join(self.lines[-30:]))

    def _read(self):
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line)
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict):
                with self._lock:
                    self.events.append(ev)
                if ev.get("msg") == "listening":
                    self._port.put(ev["port"])
        self._port.put(None)

    def log_events(self):
        with self._lock:
            return list(self.events)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers dict lower-cased, body bytes). `body`: dict/list → JSON, str/bytes raw."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        return r.status, hdrs, data

    def json(self, method, path, body=None, key=None, headers=None, timeout=120):
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        status, hdrs, data = self.request(method, path, body, h, timeout)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode("utf-8", "replace")
        return status, parsed, hdrs

    def sse(self, path, body, key, timeout=300):
        """Posts a streaming request; returns (status, list of parsed data payloads, raw text)."""
        status, hdrs, data = self.request("POST", path, body,
                                          {"Authorization": f"Bearer {key}"}, timeout)
        text = data.decode("utf-8", "replace")
        events = []
        for block in text.split("\n\n"):
            block = block.strip()
            if not block.startswith("data: "):
                continue
            payload = block[len("data: "):]
            events.append(payload if payload == "[DONE]" else json.loads(payload))
        return status, events, text

    def metrics(self, key):
        status, _, data = self.request("GET", "/metrics", headers={"Authorization": f"Bearer {key}"})
        assert status == 200, status
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split(" ", 1)
                out[name] = float(value)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


class Checks:
    """A minimal runner: every test_* function of a module, failures counted, exit status."""

    def __init__(self):
        self.failed = []

    def run(self, tests):
        for name, fn in tests:
            t0 = time.time()
            try:
                fn()
                print(f"PASS {name} ({time.time() - t0:.1f} s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure, keep going
                import traceback
                traceback.print_exc()
                print(f"FAIL {name}: {e!r}", flush=True)
                self.failed.append(name)
        print(f"{len(tests) - len(self.failed)} passed, {len(self.failed)} failed", flush=True)
        return 1 if self.failed else 0


def collect_tests(module_globals):
    return [(n, f) for n, f in module_globals.items() if n.startswith("test_") and callable(f)]


def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default
