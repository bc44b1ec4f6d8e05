"""The playground in a real browser (headless Chromium from Debian, driven by Selenium) on the
real product: the concierge (`rasa run` with the Slack connector), its action server,
publish-api on PostgreSQL, RabbitMQ, the broker worker and its bot pool. Alice adds a topic by
clicking the concierge's buttons and publishes; Bob asks her a paraphrase in his DM with the
concierge, and again in #general by mentioning @concierge, and sees her answer.

The screenshot of Bob's answer is kept as a test artefact: `var/test-artefacts/` (gitignored;
FAQBOT_ARTEFACTS_DIR to put it elsewhere), `playground-ask.png`, and on a failure
`playground-failure.png` with the page's HTML next to it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.capture_bot.servers import (
    BOT_TOKEN,
    SIGNING_SECRET,
    start_action_server,
    start_concierge,
    train_concierge,
)
from tests.playground.servers import free_port, start_playground
from tests.support.services import (
    BOT_AUTH_TOKEN,
    REPO,
    start_broker_worker,
    start_publish_api,
    wait_until,
)

pytestmark = pytest.mark.slow

CHROMEDRIVER = shutil.which("chromedriver")
QUESTION = "How do I reset my VPN password?"
ANSWER = "Use the self-service portal at vpn.example.com."
PARAPHRASE = "how can I reset the password of the vpn?"
PLAYGROUND_API_TOKEN = "playground-browser-token-0123456789"  # publish-api's read-only scope
ARTEFACTS = Path(os.environ.get("FAQBOT_ARTEFACTS_DIR", REPO / "var" / "test-artefacts"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def product(logs, tmp_path_factory):
    """Every service, with the playground as Slack: the concierge and the broker call its Web
    API, and it signs what people type and click to the concierge's webhook."""
    playground_port, concierge_port = free_port(), free_port()
    started = []
    try:
        api = start_publish_api(free_port(), logs, PLAYGROUND_API_TOKEN=PLAYGROUND_API_TOKEN)
        started.append(api)
        playground = start_playground(
            playground_port, logs, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
            CONCIERGE_URL=f"http://127.0.0.1:{concierge_port}", PUBLISH_API_URL=api.url,
            PLAYGROUND_API_TOKEN=PLAYGROUND_API_TOKEN, PLAYGROUND_PEOPLE="Alice,Bob")
        started.append(playground)
        started.append(start_broker_worker(api, logs, tmp_path_factory.mktemp("bots"),
                                           SLACK_BOT_TOKEN=BOT_TOKEN,
                                           SLACK_API_URL=playground.api_url))
        model, _ = train_concierge(tmp_path_factory.mktemp("concierge"))
        actions = start_action_server(free_port(), logs, {
            "PUBLISH_API_URL": api.url, "API_TOKEN": api.token, "BOT_AUTH_TOKEN": BOT_AUTH_TOKEN})
        started.append(actions)
        started.append(start_concierge(concierge_port, model, logs, playground.api_url,
                                       actions.url))
        yield playground
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture(scope="module")
def browser():
    if CHROMEDRIVER is None:
        pytest.skip("chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


class Page:
    """What a person does on the page: type, click a button, read the conversation."""

    def __init__(self, driver):
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By

        self.driver, self.by = driver, By
        # The conversation is re-rendered every second: an element found just before can go.
        self.gone = (StaleElementReferenceException, WebDriverException)

    def conversation(self) -> str:
        try:
            return self.driver.find_element(self.by.ID, "messages").text
        except self.gone:
            return ""

    def wait_for(self, text: str, timeout: float = 60, count: int = 1) -> str:
        return wait_until(lambda: self.conversation().count(text) >= count and self.conversation(),
                          timeout=timeout, interval=0.3, what=f"{text!r} on the page")

    def type(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        box = self.driver.find_element(self.by.ID, "composer")
        box.send_keys(text + Keys.ENTER)
        wait_until(lambda: box.get_attribute("value") == "", timeout=15,
                   what=f"{text!r} to be sent")

    def click(self, title: str) -> None:
        """Clicks the newest button called `title`."""
        def press() -> bool:
            try:
                buttons = self.driver.find_elements(
                    self.by.XPATH, f"//div[@id='messages']//button[normalize-space()='{title}']")
                if not buttons:
                    return False
                buttons[-1].click()
                return True
            except self.gone:
                return False

        wait_until(press, timeout=30, interval=0.3, what=f"a button {title!r}")

    def panel(self) -> str:
        try:
            return self.driver.find_element(self.by.ID, "panel").text
        except self.gone:
            return ""


def test_alice_teaches_and_publishes_by_clicking_and_bob_gets_her_answer(product, browser):
    page = Page(browser)
    try:
        browser.get(product.url)  # opens as the first person: Alice, in her DM
        page.type("hi")
        page.wait_for("Hi! I keep your answers")
        page.click("Add a new topic")
        page.wait_for("What is the question")
        page.type(QUESTION)
        page.wait_for("what is your answer")
        page.type(ANSWER)
        page.wait_for("Save this topic?")
        page.click("Yes")
        page.wait_for("Add another topic?")
        page.click("No")
        page.wait_for("Anything else?")
        page.click("Publish all topics")
        page.wait_for("Publish all your topics")
        page.click("Yes, publish")
        page.wait_for("Publishing started")
        page.wait_for("Your bot is live with 1 topic", timeout=240)  # the broker's notice
        wait_until(lambda: f"✅ {QUESTION}" in page.panel() and "bot live" in page.panel(),
                   timeout=30, interval=0.5, what="Alice's topic published in the side panel")

        from selenium.webdriver.support.select import Select

        Select(browser.find_element(page.by.CSS_SELECTOR, "select[aria-label='you are']")
               ).select_by_value("UBOB")
        wait_until(lambda: "/as/UBOB/" in browser.current_url, timeout=10, what="Bob's view")
        page.type(f"ask @alice {PARAPHRASE}")
        page.wait_for(f"@Alice says: {ANSWER}", timeout=60)
        assert "Your bot is live" not in page.conversation()  # Alice's notice stays hers
        # Beside the chat, Alice's asks per day from publish-api's ask log: a bar per day, and
        # Bob's ask counted as answered.
        wait_until(lambda: "Asks, 7 days: 1 answered, 0 unanswered" in page.panel(),
                   timeout=30, interval=0.5, what="Bob's ask in Alice's chart")
        assert len(browser.find_elements(page.by.CSS_SELECTOR,
                                         "#owner-UALICE svg.chart rect.answered")) == 7
        _screenshot(browser, "playground-ask.png")

        browser.find_element(page.by.LINK_TEXT, "# general").click()  # an app_mention there
        wait_until(lambda: browser.current_url.endswith("/as/UBOB/C0GENERAL"), timeout=10,
                   what="#general")
        page.type("@concierge ask @alice where do I reset my vpn password")
        page.wait_for(f"@Alice says: {ANSWER}", timeout=60)
    except BaseException:
        _screenshot(browser, "playground-failure.png")
        raise


UNKNOWN = ["When is the winter offsite?", "Who approves travel to Berlin?",
           "Where is the colour printer?", "How do I book the big meeting room?"]


def test_a_later_row_of_alices_list_is_the_one_acted_on_and_the_page_stays_put(product,
                                                                              browser):
    """After the first test: Alice's bot is live. Bob asks four questions it does not know and
    thanks it for one it does; Alice dismisses the fourth row of her unanswered list."""
    page = Page(browser)
    try:
        browser.get(product.url + "/as/UBOB/DBOB")
        for number, question in enumerate(UNKNOWN, start=1):
            page.type(f"ask @alice {question}")
            page.wait_for("bot doesn't know that one yet", count=number, timeout=60)
        page.type(f"ask @alice {PARAPHRASE}")
        page.wait_for(f"@Alice says: {ANSWER}", count=2, timeout=60)
        page.click("👍")
        page.wait_for("Thanks for telling me! 👍")
        assert ":+1:" not in page.conversation()  # Slack's shortcode, shown as Slack shows it

        browser.get(product.url + "/as/UALICE/DALICE")
        page.type("show my unanswered questions")
        listing = page.wait_for("4 open questions your bot could not answer")
        # Newest first: the fourth row is the first question Bob asked.
        assert listing.index(UNKNOWN[3]) < listing.index(UNKNOWN[0])
        dismiss = browser.find_elements(
            page.by.XPATH, "//div[@id='messages']//button[normalize-space()='Dismiss']")[-4:]
        dismiss[3].click()
        page.wait_for(f"Dismissed “{UNKNOWN[0]}”")
        assert f"Dismissed “{UNKNOWN[3]}”" not in page.conversation()

        # The conversation scrolls in its own pane: the page itself does not, and the newest
        # message and the composer stay in view however long the conversation is.
        sizes = browser.execute_script(
            "var log = document.getElementById('messages');"
            "var box = document.getElementById('composer').getBoundingClientRect();"
            "return [document.scrollingElement.scrollHeight, window.innerHeight, box.bottom,"
            " log.scrollHeight, log.clientHeight, log.scrollTop];")
        page_height, window_height, composer_bottom, log_height, log_view, log_top = sizes
        assert page_height <= window_height and composer_bottom <= window_height
        assert log_height > log_view and log_top >= log_height - log_view - 2
        _screenshot(browser, "playground-unanswered.png")
    except BaseException:
        _screenshot(browser, "playground-failure.png")
        raise


def _screenshot(browser, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTEFACTS / name))
    (ARTEFACTS / name).with_suffix(".html").write_text(browser.page_source)
