"""Starts the built lightmeter binary on a fresh workspace, on loopback, fed a log on standard input."""
import os
import pathlib
import select
import signal
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "lightmeter"


class Lightmeter:
    def __init__(self, log_text, *args, year=2021):
        self.dir = tempfile.TemporaryDirectory(prefix="lm-browser-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTMETER_")}
        self.proc = subprocess.Popen(
            [str(BINARY), "-workspace", self.dir.name + "/ws", "-stdin", "-listen", "127.0.0.1:0",
             "-log_starting_year", str(year), *args],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.port = self._port()
        self.proc.stdin.write(log_text.encode())
        self.proc.stdin.flush()
        self.url = f"http://127.0.0.1:{self.port}"

    def _port(self):
        text = b""
        deadline = time.time() + 60
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 1)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                text += chunk
                for line in text.decode(errors="replace").splitlines():
                    if line.startswith("lightmeter: listening on "):
                        return int(line.rsplit(":", 1)[1])
        raise RuntimeError("lightmeter did not start: " + text.decode(errors="replace"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.dir.cleanup()
