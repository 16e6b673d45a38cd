"""Screenshots of the access rules' administration for docs/guide-sig.md (docs/img/droits-*.png):
a rule's page, « Ce que voit un utilisateur » (all layers, then one layer with the map of his
rows) and the journal of personal-data reads.

Run against a running C@p Géo holding the demo (`manage.py load_demo`, then ./run.sh serve or
runserver), with the same database settings as that server:

    .venv/bin/python docs/tools/rights_screenshots.py http://127.0.0.1:8000

It first reads the SPANC owners as responsable.spanc (REST page and WFS GetFeature), so that
the journal has something to show, then drives Debian's Chromium with Playwright as admin.sig.
"""
import os
import sys
from pathlib import Path

import django

CHROMIUM = os.environ.get("CAPGEO_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "img"
PASSWORD = "demo-capgeo"


def shoot(page, name, full_page=False):
    path = OUT / f"droits-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(path)


def login(page, base, username, admin=False):
    page.goto(base + ("/admin/login/" if admin else "/connexion/"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()


def main(base):
    sys.path.insert(0, str(ROOT))  # the project's packages, from any working directory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capgeo.settings")
    django.setup()
    from layers.models import AccessRule

    # Read before Playwright starts its event loop (the ORM refuses async contexts).
    rule = (AccessRule.objects.filter(layer__name="spanc_installations",
                                      roles__contains=["municipal_agent"]).first()
            or AccessRule.objects.filter(layer__name="spanc_installations").first())
    if rule is None:
        sys.exit("No rule on spanc_installations: load the demo first (manage.py load_demo).")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        viewport = {"width": 1280, "height": 860}

        # What the journal will show: the owners read by the SPANC manager, twice.
        spanc = browser.new_context(locale="fr-FR", viewport=viewport).new_page()
        login(spanc, base, "responsable.spanc")
        spanc.goto(base + "/api/layers/spanc_installations/features?limit=20")
        spanc.goto(base + "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature"
                          "&TYPENAMES=spanc_installations&COUNT=5")

        page = browser.new_context(locale="fr-FR", viewport=viewport).new_page()
        page.set_default_timeout(60_000)
        login(page, base, "admin.sig", admin=True)
        page.goto(f"{base}/admin/layers/accessrule/{rule.pk}/change/")
        page.wait_for_load_state("networkidle")
        if page.locator("#nav-sidebar").is_visible():
            # The admin's side menu folded (remembered by the browser): wider tables.
            page.click("#toggle-nav-sidebar")
        # Its columns (hidden, read-only) and its read filter.
        page.locator("fieldset h2", has_text="Colonnes").first.evaluate(
            "element => window.scrollTo(0, element.getBoundingClientRect().top + "
            "window.scrollY - 20)")
        shoot(page, "regle")

        page.goto(base + "/admin/layers/accessrule/ce-que-voit/?user=agent.guerande")
        shoot(page, "ce-que-voit")

        page.goto(base + "/admin/layers/accessrule/ce-que-voit/installations_anc/"
                         "?user=agent.guerande")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        shoot(page, "ce-que-voit-couche")

        page.goto(base + "/admin/layers/personaldataread/")
        shoot(page, "journal")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
