"""Screenshots of the real viewer for docs/guide-carte.md (docs/img/carte-*.png).

Run against a running C@p Géo holding the demo (./run.sh serve, or runserver):

    .venv/bin/python docs/tools/viewer_screenshots.py http://127.0.0.1:8000

It adds the demo saved maps (webmap.demo) to that server's database if they are missing,
then drives Debian's Chromium with Playwright, as the anonymous public and as agent.guerande.
"""
import os
import sys
from pathlib import Path

import django

CHROMIUM = os.environ.get("CAPGEO_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "img"
PASSWORD = "demo-capgeo"


def idle(page):
    page.wait_for_function("window.capgeoViewer && window.capgeoViewer.pending() === 0")
    page.evaluate("""() => new Promise((done) => {
        window.capgeoViewer.map.once('rendercomplete', () => done());
        window.capgeoViewer.map.render();
    })""")
    page.wait_for_function("window.capgeoViewer.pending() === 0")


def centre(page, lon, lat, zoom):
    page.evaluate("""([lon, lat, zoom]) => {
        const view = window.capgeoViewer.map.getView();
        view.setCenter(ol.proj.fromLonLat([lon, lat])); view.setZoom(zoom);
    }""", [lon, lat, zoom])
    idle(page)


def click_centre(page):
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def shoot(page, name):
    path = OUT / f"carte-{name}.png"
    page.screenshot(path=str(path))
    print(path)


def main(base):
    sys.path.insert(0, str(ROOT))  # the project's packages, from any working directory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capgeo.settings")
    django.setup()
    from territory.models import TownHall
    from webmap.demo import load_saved_maps_demo

    load_saved_maps_demo()
    # Read before Playwright starts its event loop (the ORM refuses async contexts).
    hall = TownHall.objects.get(commune__insee="44069").location.transform(4326, clone=True)
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(30_000)

        page.goto(base + "/carte/#couches=zones_activite:0.85,mairies:1&fond=communes")
        idle(page)
        shoot(page, "accueil")

        centre(page, hall.x, hall.y, 15)
        click_centre(page)
        page.wait_for_selector("#wm-popup:not([hidden]) table")
        shoot(page, "interrogation")
        page.keyboard.press("Escape")

        page.fill("#wm-search-input", "zone du moulin")
        page.wait_for_selector("#wm-search-results button")
        shoot(page, "recherche")
        page.fill("#wm-search-input", "")

        centre(page, -2.43, 47.30, 13)
        page.click("[data-tool=length]")
        box = page.locator("#map").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(x - 200, y + 100)
        page.mouse.click(x, y - 80)
        page.mouse.dblclick(x + 220, y + 40)
        shoot(page, "mesure")
        page.click("[data-tool=identify]")

        page.click("#wm-export-pdf")
        shoot(page, "impression")
        page.click("#wm-export-pdf")

        page.goto(base + "/carte/cartes/")
        page.wait_for_function("[...document.querySelectorAll('.wm-card img')]"
                               ".every(i => i.complete)")
        shoot(page, "galerie")

        page.goto(base + "/connexion/")
        page.fill("input[name=username]", "agent.guerande")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit], form input[type=submit]").first.click()
        page.wait_for_load_state()
        page.goto(base + "/carte/reseaux/")
        idle(page)
        shoot(page, "agent")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
