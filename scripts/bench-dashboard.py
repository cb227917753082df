"""Times the dashboard API of a running lightmeter over 90 days: p50, p99 and max per endpoint."""
import http.client
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse

binary, workspace = sys.argv[1], sys.argv[2]
EMAIL, PASSWORD = "bench@example.org", "violet otter gravel sunrise"

db = sqlite3.connect(f"file:{workspace}/lightmeter.db?mode=ro", uri=True)
deliveries = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
first, last = db.execute("SELECT MIN(first_seen), MAX(first_seen) FROM messages").fetchone()
rows_status = db.execute("SELECT COUNT(*) FROM rollup_status").fetchone()[0]
rows_domain = db.execute("SELECT COUNT(*) FROM rollup_domain").fetchone()[0]
# BENCH_PERIOD: "first" (default), the first 90 days of the workspace; "last", the 90 days up to its
# newest day (what the dashboard's presets ask: periods that end today).
start = first // 86400 * 86400 if os.environ.get("BENCH_PERIOD", "first") == "first" else last // 86400 * 86400 - 89 * 86400
in_period = db.execute(
    "SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.first_seen >= ? AND m.first_seen < ?",
    (start, start + 90 * 86400)).fetchone()[0]
db.close()
day = lambda t: time.strftime("%Y-%m-%d", time.gmtime(t))
# BENCH_TZ: the time zone of the period (an IANA name; default UTC).
tz = urllib.parse.quote(os.environ.get("BENCH_TZ", "UTC"))
period = f"from={day(start)}&to={day(start + 89 * 86400)}&tz={tz}"
print(f"workspace: {deliveries:,} deliveries, {day(first)} to {day(last)}; rollups: {rows_status:,} status rows, {rows_domain:,} domain rows")
print(f"period: {period} ({in_period:,} deliveries in its 90 UTC days)")

# A long retention: the workspace keeps every day it holds (the default, 90 days, would trim its oldest).
server = subprocess.Popen([binary, "-workspace", workspace, "-stdin", "-listen", "127.0.0.1:0", "-data_retention_days", "3650"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
port = None
for line in server.stderr:
    m = re.match(r"lightmeter: listening on .*:(\d+)$", line.strip())
    if m:
        port = int(m.group(1))
        break
try:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    cookies = {}

    def request(method, path, body=None, headers=None):
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                cookies[name] = rest.split(";")[0]
        return r.status, data.decode(errors="replace"), dict((k.lower(), v) for k, v in r.getheaders())

    status, page, _ = request("GET", "/register")
    form = "/register" if 'id="register-form"' in page else "/login"
    if form == "/login":
        status, page, _ = request("GET", "/login")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    fields = {"_csrf": csrf, "email": EMAIL, "password": PASSWORD, "name": "Bench"}
    status, _, headers = request("POST", form, urllib.parse.urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302 and "lm_session" in cookies, f"cannot sign in: {status}"

    endpoints = ["countByStatus", "deliveryStatus", "topBusiestDomains", "topBouncedDomains", "topDeferredDomains",
                 "deliveriesOverTime?granularity=day&", "deliveriesOverTime?granularity=hour&from={}&to={}&tz={}&".format(day(start), day(start + 30 * 86400), tz)]
    print(f"{'endpoint':<40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for e in endpoints:
        path = "/api/v0/" + (e + period if e.endswith("&") and "from=" not in e else e.rstrip("&") if "from=" in e else e + "?" + period)
        times = []
        for i in range(220):
            t0 = time.perf_counter()
            status, body, _ = request("GET", path)
            dt = (time.perf_counter() - t0) * 1000
            assert status == 200, f"{path}: {status} {body[:200]}"
            if i >= 20:
                times.append(dt)
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        print(f"{e.split('&')[0][:40]:<40} {p(0.5):8.2f} {p(0.99):8.2f} {times[-1]:8.2f}")
finally:
    server.terminate()
    server.wait(timeout=30)
