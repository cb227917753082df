"""The dashboard in a real Chromium, over a real Postfix log: change the date range, see the totals,
the chart drawn by Chart.js, the top domains; a screenshot is kept in test-artifacts/browser/."""
import pathlib
import time

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, replaced
from lightmeter_server import ROOT, Lightmeter

REAL_LOG = ROOT.parent / "shared" / "real-logs" / "fonylew_config-mailgateway_maillog"
PASSWORD = "violet otter gravel sunrise"


@pytest.fixture
def lightmeter():
    if not REAL_LOG.exists():
        pytest.skip("../shared/real-logs is not there")
    s = Lightmeter(REAL_LOG.read_text(errors="replace"))
    yield s
    s.stop()


def register(browser, url):
    browser.get(url + "/")
    browser.find_element(By.ID, "name").send_keys("Ada Admin")
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "dashboard")))


def test_dashboard_over_a_real_log(browser, lightmeter):
    register(browser, lightmeter.url)
    # Today's week holds nothing of a 2021 log: the empty state says what to check.
    assert browser.find_elements(By.ID, "empty-state")
    # The log's weeks, through the form (the import may still be running: wait for its numbers).
    for _ in range(60):
        browser.find_element(By.ID, "from").send_keys("")
        browser.execute_script("document.getElementById('from').value = '2021-05-27';"
                               "document.getElementById('to').value = '2021-06-12';")
        before = browser.find_element(By.ID, "dashboard")
        browser.find_element(By.CSS_SELECTOR, "form.period button").click()
        # The click does not wait for the next page: read the cards of the new one, not of a half-parsed one.
        replaced(browser, before)
        card = WebDriverWait(browser, 20).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, "#card-sent .value")))
        if card.text not in ("0", ""):
            break
        time.sleep(0.5)
    assert "from=2021-05-27" in browser.current_url and "to=2021-06-12" in browser.current_url
    sent = int(browser.find_element(By.CSS_SELECTOR, "#card-sent .value").text.replace(",", ""))
    assert sent > 100
    assert not browser.find_elements(By.ID, "empty-state")
    assert browser.find_elements(By.CSS_SELECTOR, "#top-busiest td.domain")
    # Chart.js drew the chart (Debian's libjs-chart.js is installed by the test script).
    WebDriverWait(browser, 20).until(lambda b: b.execute_script(
        "return window.Chart && Chart.getChart(document.getElementById('chart-over-time')) ? "
        "Chart.getChart(document.getElementById('chart-over-time')).data.datasets.length : 0") > 0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    # A phone's width: no horizontal scrolling of the page.
    browser.set_window_size(390, 844)
    # Chart.js resizes its canvas on the next animation frames: give the page a moment to settle.
    scroll_width = "return document.documentElement.scrollWidth"
    try:
        WebDriverWait(browser, 5).until(lambda b: b.execute_script(scroll_width) <= 400)
    except TimeoutException:
        pass
    width = browser.execute_script(scroll_width)
    assert width <= 400
    browser.save_screenshot(str(ARTIFACTS / "dashboard-phone.png"))
    # The API reference is one click away.
    browser.set_window_size(1280, 900)
    before = browser.find_element(By.ID, "dashboard")
    browser.find_element(By.LINK_TEXT, "API reference").click()
    replaced(browser, before)
    assert WebDriverWait(browser, 20).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "GET /api/v0/countByStatus"))
