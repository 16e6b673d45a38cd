"""The browser-test harness itself: Debian's Chromium driven by Playwright against live_server."""
from conftest import log_in


def test_home_page_in_chromium_then_signed_in(committed_demo, live_server, browser_page, artefacts):
    browser_page.goto(live_server.url + "/")
    assert "Cap Atlantique" in browser_page.title()
    log_in(browser_page, live_server.url, "agent.guerande")
    assert "Agent municipal · Guérande" in browser_page.locator(".who").inner_text()
    browser_page.screenshot(path=str(artefacts / "accueil.png"))
    assert (artefacts / "accueil.png").stat().st_size > 1000
    assert browser_page.console_errors == []
