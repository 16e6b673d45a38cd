"""Screenshots of the reports for docs/guide-signalements.md (docs/img/signalements-*.png and
docs/img/terrain-signalement.png).

Run against a running C@p Géo holding the demo (./run.sh demo, or runserver after
manage.py load_demo), with the same DATABASE_URL as that server:

    .venv/bin/python docs/tools/signalements_screenshots.py http://127.0.0.1:8000

It drives Debian's Chromium with Playwright as a resident on a phone (the form, a possible
duplicate, the tracking page, his data), as agent.guerande (the processing page, the dashboard
and its hot spots) and in the field app with the network off (a report made offline). It makes
two reports in that server's database, as a person would.
"""
import io
import os
import sys
from pathlib import Path

import django

CHROMIUM = os.environ.get("CAPGEO_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "img"
PASSWORD = "demo-capgeo"
PLACE = (-2.4286, 47.3281)                  # the old town of Guérande
NEAR = (PLACE[0] + 0.00026, PLACE[1])       # 20 m east


def photo():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 900), (118, 118, 112))
    pen = ImageDraw.Draw(image)
    pen.ellipse([380, 330, 820, 620], fill=(52, 48, 44), outline=(30, 28, 26), width=12)
    pen.rectangle([0, 0, 1200, 120], fill=(170, 200, 225))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def shoot(page, name, full_page=False):
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(path)


def log_in(page, base, username):
    page.goto(base + "/connexion/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()


def fill_report(page, base, point, text, picture=None):
    page.goto(f"{base}/signalements/nouveau/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Type de problème").select_option(label="Nid-de-poule")
    page.get_by_label("Taille du trou").select_option(label="Grand (plus de 50 cm)")
    page.get_by_label("Longitude (WGS 84)").fill(str(point[0]))
    page.get_by_label("Latitude (WGS 84)").fill(str(point[1]))
    page.get_by_label("Latitude (WGS 84)").press("Tab")
    page.locator("#id_description").fill(text)
    if picture:
        page.set_input_files("#id_photos", files=[{"name": "IMG_0042.jpg",
                                                   "mimeType": "image/jpeg", "buffer": picture}])


def map_drawn(page, selector):
    page.wait_for_function(f"document.querySelector('{selector}') && "
                           f"document.querySelector('{selector}').olMap")
    page.evaluate(f"""() => new Promise((done) => {{
        const map = document.querySelector('{selector}').olMap;
        map.once('rendercomplete', () => done()); map.render(); }})""")


def main(base):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capgeo.settings")
    django.setup()
    from playwright.sync_api import sync_playwright

    picture = photo()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        phone = browser.new_context(locale="fr-FR", viewport={"width": 412, "height": 915})
        page = phone.new_page()
        page.set_default_timeout(60_000)

        # A resident: the form, then the tracking page and his data.
        fill_report(page, base, PLACE, "Nid de poule profond devant la collégiale", picture)
        page.get_by_label("Courriel").fill("riveraine@exemple.test")
        page.locator("#id_description").scroll_into_view_if_needed()
        shoot(page, "signalements-formulaire")
        page.get_by_role("button", name="Envoyer le signalement").click()
        page.wait_for_load_state()
        tracking = page.url
        reference = page.locator("h1").inner_text().split()[-1]
        shoot(page, "signalements-suivi")
        page.goto(tracking.rstrip("/") + "/donnees/")
        shoot(page, "signalements-donnees")

        # A second resident 20 m away: the duplicate suggested.
        phone.clear_cookies()
        fill_report(page, base, NEAR, "Gros trou dans la chaussée")
        page.locator("#duplicates-list li", has_text=reference).wait_for()
        page.locator("#duplicates-list").scroll_into_view_if_needed()
        shoot(page, "signalements-doublon")
        phone.close()

        # The Guérande agent: the report's page, the dashboard and its hot spots.
        desk = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        page = desk.new_page()
        page.set_default_timeout(60_000)
        log_in(page, base, "agent.guerande")
        page.goto(f"{base}/signalements/traitement/")
        page.get_by_role("link", name=reference).click()
        page.wait_for_load_state()
        page.get_by_label("Nouvel état").select_option(label="pris en compte")
        page.get_by_role("button", name="Changer l'état").click()
        page.wait_for_load_state()
        shoot(page, "signalements-traitement")
        page.goto(f"{base}/signalements/tableau-de-bord/")
        map_drawn(page, "#hotspots-map")
        page.locator("#hotspots-map").scroll_into_view_if_needed()
        shoot(page, "signalements-tableau-de-bord")

        # The field app, offline: a report made on the tablet (a tablet-sized window).
        page.set_viewport_size({"width": 800, "height": 1000})
        page.goto(base + "/terrain/")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        page.click("#download-button")
        page.locator("#signalements-section").wait_for()
        desk.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.click("button.new-report")
        page.get_by_label("Type de problème").select_option(label="Voirie › Nid-de-poule")
        page.get_by_label("Taille du trou").select_option(label="Moyen (20 à 50 cm)")
        page.get_by_label("Longitude (WGS 84)").fill(str(NEAR[0]))
        page.get_by_label("Latitude (WGS 84)").fill(str(NEAR[1]))
        page.get_by_label("Latitude (WGS 84)").press("Tab")
        page.locator("#report-description").fill("Vu en tournée : nid-de-poule en bord de "
                                                  "chaussée, côté trottoir.")
        page.set_input_files("input[type=file]", files=[
            {"name": "IMG_0043.jpg", "mimeType": "image/jpeg", "buffer": picture}])
        page.locator(".photos li").wait_for()
        page.wait_for_timeout(1500)  # the map's move to the point
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "terrain-signalement", full_page=True)
        desk.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
