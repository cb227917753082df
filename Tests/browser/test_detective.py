"""The message detective in a real Chromium over a real Postfix log: an administrator finds the bounced
messages and opens one's attempts and log lines; then, with the public page on, someone without an
account checks a message of theirs by its exact addresses."""
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS, replaced
from test_dashboard import lightmeter, register  # noqa: F401 (the fixture: lightmeter over a real log)


def test_find_a_bounced_message_then_check_it_publicly(browser, lightmeter):
    register(browser, lightmeter.url)
    browser.find_element(By.LINK_TEXT, "Message detective").click()
    form = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "search-form")))
    browser.execute_script("document.getElementById('from').value = '2021-05-27';"
                           "document.getElementById('to').value = '2021-06-12';")
    Select(browser.find_element(By.ID, "status")).select_by_value("bounced")
    form.find_element(By.CSS_SELECTOR, "button").click()
    first = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.message")))
    assert "Bounced" in first.text
    first.find_element(By.CSS_SELECTOR, "details.attempts summary").click()
    first.find_element(By.CSS_SELECTOR, "details.raw summary").click()
    assert "postfix/" in first.find_element(By.CSS_SELECTOR, "details.raw pre").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "detective.png"))
    # The sender and a bounced recipient of that message, for the public page.
    sender = re.search(r"from (\S+)", first.find_element(By.CSS_SELECTOR, ".message-head .from").text).group(1)
    row = [tr for tr in first.find_elements(By.CSS_SELECTOR, "table.recipients tbody tr") if "Bounced" in tr.text][0]
    recipient = row.find_elements(By.TAG_NAME, "td")[0].text.split("\n")[0]
    assert "@" in sender and "@" in recipient

    # Turn the public page on, log out, and check the message as its sender would.
    browser.get(lightmeter.url + "/settings")
    box = browser.find_element(By.ID, "detective-public_page")
    if not box.is_selected():
        box.click()
    browser.find_element(By.CSS_SELECTOR, "#settings-detective-form button").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "login-form")))
    browser.get(lightmeter.url + "/detective")
    assert not browser.find_elements(By.ID, "queue_id")
    browser.find_element(By.ID, "sender").send_keys(sender)
    browser.find_element(By.ID, "recipient").send_keys(recipient)
    browser.execute_script("document.getElementById('from').value = '2021-05-27';"
                           "document.getElementById('to').value = '2021-06-12';")
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    result = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.message")))
    assert "Bounced" in result.text
    assert not browser.find_elements(By.CSS_SELECTOR, "details.raw")
    rows = result.find_elements(By.CSS_SELECTOR, "table.recipients tbody tr:not(.escalate)")
    assert rows and all(recipient in r.text for r in rows)
    browser.save_screenshot(str(ARTIFACTS / "detective-public.png"))
    # Escalate it: once is enough.
    result.find_element(By.CSS_SELECTOR, ".escalate-form button").click()
    notice = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    assert "postmaster has been told" in notice.text
    browser.find_element(By.CSS_SELECTOR, ".escalate-form button").click()
    # The notice of the first escalation belongs to the page before: wait for the new page.
    replaced(browser, notice)
    assert "escalated already" in WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.notice"))).text

    # The administrator finds it among the insights, opens it in the detective, and archives it.
    browser.get(lightmeter.url + "/login")
    browser.find_element(By.ID, "email").send_keys("ada@example.org")
    browser.find_element(By.ID, "password").send_keys("violet otter gravel sunrise")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    panel = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "dashboard-insights")))
    assert recipient in panel.text
    browser.find_element(By.LINK_TEXT, "Insights").click()
    card = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.insight")))
    assert recipient in card.text and "Needs attention" in card.text
    browser.save_screenshot(str(ARTIFACTS / "insights.png"))
    card.find_element(By.XPATH, ".//button[normalize-space()='Archive']").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "no-insights")))
    browser.find_element(By.LINK_TEXT, "Archived").click()
    assert recipient in WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.insight"))).text
