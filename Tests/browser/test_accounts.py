"""Accounts in a real Chromium: register the administrator, log out, log in, change a setting; a log
line that carries markup is shown as text."""
import pathlib

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS
from lightmeter_server import Lightmeter

LOG = """Jan  1 10:00:00 mx postfix/smtpd[1]: 4AB12C0001: client=evil.example[203.0.113.9]
Jan  1 10:00:00 mx postfix/cleanup[2]: 4AB12C0001: message-id=<x1@evil.example>
Jan  1 10:00:00 mx postfix/qmgr[3]: 4AB12C0001: from=<"<script>alert(1)</script>"@evil.example>, size=300, nrcpt=1 (queue active)
Jan  1 10:00:01 mx postfix/smtp[4]: 4AB12C0001: to=<victim+<img src=x onerror=alert(2)>@example.com>, relay=mx.example.com[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Jan  1 10:00:01 mx postfix/qmgr[3]: 4AB12C0001: removed
Jan  1 10:05:00 mx postfix/smtpd[1]: 5555EEEE55: client=app[10.0.0.5], sasl_method=PLAIN, sasl_username=app
Jan  1 10:05:00 mx postfix/qmgr[3]: 5555EEEE55: from=<app@mx.example>, size=300, nrcpt=1 (queue active)
Jan  1 10:05:01 mx postfix/smtp[4]: 5555EEEE55: to=<b@hotmail.com>, relay=mx.hotmail.com[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host said: 550 5.1.1 unknown (in reply to RCPT TO command))
Jan  1 10:05:01 mx postfix/qmgr[3]: 5555EEEE55: removed
"""

PASSWORD = "violet otter gravel sunrise"


@pytest.fixture
def lightmeter():
    s = Lightmeter(LOG)
    yield s
    s.stop()


def wait_for(browser, by, value, timeout=20):
    return WebDriverWait(browser, timeout).until(EC.presence_of_element_located((by, value)))


def no_alert(browser):
    try:
        browser.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


def test_register_logout_login_and_change_a_setting(browser, lightmeter):
    browser.get(lightmeter.url + "/")
    # First run: the registration page.
    assert browser.current_url.endswith("/register")
    browser.find_element(By.ID, "name").send_keys("Ada Admin")
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys("password123")
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    # A weak password is refused, with the reason.
    error = wait_for(browser, By.CSS_SELECTOR, "p.error")
    assert "common password" in error.text
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    wait_for(browser, By.ID, "logout")

    # The overview, with the imported messages (the import may still be running: reload until they show).
    for _ in range(40):
        if browser.find_elements(By.ID, "latest"):
            break
        browser.implicitly_wait(0)
        import time
        time.sleep(0.5)
        browser.refresh()
    table = browser.find_element(By.ID, "latest")
    assert '"<script>alert(1)</script>"@evil.example' in table.text
    assert "victim+<img src=x onerror=alert(2)>@example.com" in table.text
    assert not browser.find_elements(By.CSS_SELECTOR, "#latest script, #latest img")
    assert no_alert(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "overview.png"))

    # Log out, then in: a wrong password first.
    browser.find_element(By.ID, "logout").click()
    wait_for(browser, By.ID, "login-form")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    assert "Wrong e-mail address or password." in wait_for(browser, By.CSS_SELECTOR, "p.error").text
    browser.find_element(By.ID, "email").clear()
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(browser, By.ID, "logout")

    # Change a setting.
    browser.find_element(By.LINK_TEXT, "Settings").click()
    field = wait_for(browser, By.ID, "general-data_retention_days")
    field.clear()
    field.send_keys("30")
    browser.find_element(By.CSS_SELECTOR, "#settings-general-form button").click()
    assert "Saved." in wait_for(browser, By.CSS_SELECTOR, "p.notice").text
    assert browser.find_element(By.ID, "general-data_retention_days").get_attribute("value") == "30"
    # A wrong value is refused next to its field.
    field = browser.find_element(By.ID, "general-data_retention_days")
    field.clear()
    field.send_keys("0")
    browser.find_element(By.CSS_SELECTOR, "#settings-general-form button").click()
    assert "Enter a whole number from 1 to 3650." in wait_for(browser, By.CSS_SELECTOR, ".field.invalid .error").text
    # An API token, shown once.
    browser.get(lightmeter.url + "/settings")
    browser.find_element(By.ID, "token-name").send_keys("browser test")
    browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
    assert wait_for(browser, By.ID, "new-token").text.startswith("lmt_")
    browser.save_screenshot(str(ARTIFACTS / "settings.png"))
    assert no_alert(browser)
