"""The portal in Chromium: the page, a search, a sheet and a download, on a desktop and a phone
screen, signed in as an administrator (who still sees the public catalogue only)."""
from conftest import log_in


def test_portal_in_chromium(committed_demo, live_server, browser_page, artefacts):
    log_in(browser_page, live_server.url, "admin.sig")
    browser_page.goto(live_server.url + "/")
    browser_page.get_by_role("link", name="Données ouvertes").click()
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Données ouvertes"
    titles = browser_page.locator(".card-title").all_inner_texts()
    assert len(titles) == 3 and not any("fibre" in t.lower() for t in titles)
    browser_page.screenshot(path=str(artefacts / "portail.png"), full_page=True)

    browser_page.get_by_role("searchbox", name="Rechercher").fill("mairies")
    browser_page.get_by_role("button", name="Filtrer").click()
    assert browser_page.locator(".card-title").all_inner_texts() == ["Mairies"]
    browser_page.locator(".card-title").first.click()
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Mairies"
    wms = browser_page.get_by_label("Adresse du service WMS (carte)").input_value()
    assert wms == live_server.url + "/ows?SERVICE=WMS&REQUEST=GetCapabilities"
    # The thumbnail is drawn (an image with a width once loaded).
    assert browser_page.locator(".layer-visuals img").evaluate("img => img.naturalWidth") > 0
    with browser_page.expect_download() as download:
        browser_page.get_by_role("link", name="GeoJSON").click()
    assert download.value.suggested_filename == "mairies.geojson"

    browser_page.set_viewport_size({"width": 390, "height": 844})
    browser_page.screenshot(path=str(artefacts / "fiche-mobile.png"), full_page=True)
    overflow = browser_page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow  # no sideways scrolling on a phone
    assert browser_page.console_errors == []
