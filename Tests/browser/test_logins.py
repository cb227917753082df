"""SMTP & IMAP logins in a real Chromium: failed logins read from the log show on the Logins page;
the administrator blocks the address from the list, sees it in the blocklist, and unblocks it."""
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, replaced
from lightmeter_server import Lightmeter

PASSWORD = "violet otter gravel sunrise"


def stamp(seconds_ago):
    """A classic syslog stamp (local time, as Postfix and Dovecot write it)."""
    t = time.localtime(time.time() - seconds_ago)
    return time.strftime("%b ", t) + f"{t.tm_mday:2d}" + time.strftime(" %H:%M:%S", t)


def log():
    lines = []
    for i in range(4):
        lines.append(f"{stamp(600 - i)} mx dovecot: imap-login: Disconnected (auth failed, 3 attempts in 9 secs): "
                     f"user=<admin{i}>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, TLS, session=<s{i}>")
    lines.append(f"{stamp(500)} mx postfix/smtpd[7]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")
    lines.append(f"{stamp(400)} mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=198.51.100.2, lip=192.0.2.1, mpid=9, TLS, session=<ok>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def lightmeter():
    s = Lightmeter(log(), year=time.localtime().tm_year)
    yield s
    s.stop()


def wait_for(browser, by, value, timeout=20):
    return WebDriverWait(browser, timeout).until(EC.presence_of_element_located((by, value)))


def confirm(browser):
    """Blocking asks first (a confirmation dialog): yes."""
    WebDriverWait(browser, 10).until(EC.alert_is_present()).accept()


def test_block_and_unblock_a_failing_address(browser, lightmeter):
    browser.get(lightmeter.url + "/register")
    wait_for(browser, By.ID, "register-form")
    browser.find_element(By.ID, "name").send_keys("Ada Admin")
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    wait_for(browser, By.ID, "logout")

    # The dashboard card, then the Logins page (the import may still be running: reload until it shows).
    for _ in range(40):
        browser.get(lightmeter.url + "/logins")
        if "203.0.113.9" in wait_for(browser, By.ID, "failing").text:
            break
        time.sleep(0.5)
    failing = browser.find_element(By.ID, "failing")
    assert "203.0.113.9" in failing.text
    assert "imap, smtp" in failing.text
    assert browser.find_element(By.ID, "login-failed").text.endswith("13")
    assert browser.find_element(By.ID, "login-succeeded").text.endswith("1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "logins.png"))

    # Block it from the list: it moves to the blocklist, marked as blocked by hand.
    failing.find_element(By.CSS_SELECTOR, "button.danger").click()
    confirm(browser)
    replaced(browser, failing)
    blocked = wait_for(browser, By.ID, "blocked-list")
    assert "203.0.113.9" in blocked.text
    assert "blocked" in browser.find_element(By.ID, "failing").text
    # A network by hand, then both unblocked.
    browser.find_element(By.ID, "block-address").send_keys("198.51.100.0/24")
    browser.find_element(By.ID, "block-hours").send_keys("2")
    old = browser.find_element(By.ID, "blocked-list")
    browser.find_element(By.CSS_SELECTOR, "#block-form button").click()
    confirm(browser)
    replaced(browser, old)
    assert "198.51.100.0/24" in wait_for(browser, By.ID, "blocked-list").text
    browser.save_screenshot(str(ARTIFACTS / "blocklist.png"))
    for _ in range(2):
        button = browser.find_element(By.CSS_SELECTOR, "#blocked-list button")
        button.click()
        replaced(browser, button)
        wait_for(browser, By.ID, "blocked")
    assert "No address is blocked." in browser.find_element(By.ID, "blocked").text

    # The dashboard shows the same numbers on its card.
    browser.get(lightmeter.url + "/")
    assert wait_for(browser, By.ID, "dash-login-failed").text.endswith("13")
