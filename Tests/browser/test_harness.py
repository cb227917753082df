"""The harness itself: Chromium loads a page from a server on loopback and runs its script, and a
failing test leaves its screenshot. The UI's own tests (web issues) use the same `browser` fixture."""
import http.server
import threading

import pytest

PAGE = b"""<!doctype html><html><head><title>harness</title></head><body>
<p id="out">before</p><button id="go">go</button>
<script>document.getElementById('go').addEventListener('click', function () {
  document.getElementById('out').textContent = 'after ' + (1 + 1);
});</script></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{s.server_address[1]}/"
    s.shutdown()


def test_chromium_runs_the_pages_script(browser, server):
    browser.get(server)
    assert browser.title == "harness"
    browser.find_element("id", "go").click()
    assert browser.find_element("id", "out").text == "after 2"
    png = browser.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
