"""The whole story in Chromium (Debian's, driven by Playwright), as an anonymous resident and a
Guérande agent: report a pothole with a phone photo carrying GPS EXIF, see the duplicate
suggestion for a second report 20 m away and support it, the service's e-mail read from the local
SMTP server, processing to « résolu », the reporter's tracking page and e-mail, the public layer
without the reporter's contact. Screenshots are kept as artefacts (docs/img/signalements-*.png)."""
import io

from PIL import Image

from conftest import log_in
from signalements.models import Report, Status

from .support import GUERANDE, metadata_of, photo_with_gps

NEAR = (GUERANDE[0] + 0.00026, GUERANDE[1])   # 20 m east of the first report


def fill_report(page, base, point, text, photo=None, email=None):
    page.goto(f"{base}/signalements/nouveau/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Type de problème").select_option(label="Nid-de-poule")
    page.get_by_label("Taille du trou").select_option(label="Grand (plus de 50 cm)")
    page.get_by_label("Longitude (WGS 84)").fill(str(point[0]))
    page.get_by_label("Latitude (WGS 84)").fill(str(point[1]))
    page.get_by_label("Latitude (WGS 84)").press("Tab")    # "change": the map and duplicates follow
    page.locator("#id_description").fill(text)
    if photo:
        page.set_input_files("#id_photos", files=[{"name": "IMG_0042.jpg",
                                                   "mimeType": "image/jpeg", "buffer": photo}])
    if email:
        page.get_by_label("Courriel").fill(email)


def test_resident_reports_agent_resolves(committed_demo, live_server, browser_page, artefacts,
                                         mailbox, settings):
    from signalements.demo import load_signalements_demo

    load_signalements_demo()
    settings.CAPGEO_PUBLIC_URL = live_server.url
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": 412, "height": 915})   # a phone

    # 1. The map places the point by a tap, and by the keyboard (Enter on the focused map).
    page.goto(f"{base}/signalements/nouveau/")
    page.wait_for_load_state("networkidle")
    page.locator("#report-map").click()
    assert page.get_by_label("Longitude (WGS 84)").input_value()
    page.get_by_label("Longitude (WGS 84)").fill("")
    page.locator("#report-map").focus()
    page.keyboard.press("Enter")
    assert page.get_by_label("Longitude (WGS 84)").input_value()

    # 2. First report, with a GPS-tagged photo and an e-mail address.
    fill_report(page, base, GUERANDE, "Nid de poule profond devant la collégiale",
                photo=photo_with_gps(), email="riveraine@exemple.test")
    page.screenshot(path=str(artefacts / "signalements-formulaire.png"), full_page=True)
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_load_state()
    assert "/signalements/suivi/" in page.url
    page.get_by_text("Merci ! Votre signalement").wait_for()
    report = Report.objects.latest("id")
    tracking_url = page.url
    assert report.service.code == "guerande-st" and report.source == "web"
    # The photo as stored and as the browser received it: no EXIF, no GPS.
    stored = bytes(report.photos.get().data)
    assert metadata_of(stored)["gps"] == {} and metadata_of(stored)["exif"] == {}
    src = page.locator(".photos img").first.get_attribute("src")
    served = page.request.get(base + src)
    assert served.status == 200
    assert metadata_of(served.body())["exif"] == {}
    assert Image.open(io.BytesIO(served.body())).format == "JPEG"
    # The Guérande service got the e-mail, the resident her acknowledgement.
    assert mailbox.to("services-techniques@guerande.demo")
    assert tracking_url.replace(base, "") in mailbox.to("riveraine@exemple.test")[0]["body"]

    # 3. A second resident, 20 m away: the duplicate is suggested; she supports it.
    page.context.clear_cookies()
    fill_report(page, base, NEAR, "Gros trou dans la chaussée")
    suggestion = page.locator("#duplicates-list li", has_text=report.reference)
    suggestion.wait_for()
    assert "20 m" in suggestion.inner_text() or "19 m" in suggestion.inner_text() \
        or "21 m" in suggestion.inner_text()
    page.screenshot(path=str(artefacts / "signalements-doublon.png"), full_page=True)
    suggestion.get_by_role("button").click()
    page.locator("#support-status", has_text="soutien est compté").wait_for()
    report.refresh_from_db()
    assert report.supports == 1
    assert Report.objects.count() == Report.objects.filter(pk__lte=report.pk).count()

    # 4. The Guérande agent processes it from the queue.
    log_in(page, base, "agent.guerande")
    page.goto(f"{base}/signalements/traitement/")
    page.get_by_role("link", name=report.reference).click()
    page.wait_for_load_state()
    assert "riveraine@exemple.test" in page.locator("#reporter").inner_text()
    for status in ("pris en compte", "en cours"):
        page.get_by_label("Nouvel état").select_option(label=status)
        page.get_by_role("button", name="Changer l'état").click()
        page.wait_for_load_state()
    page.get_by_label("Nouvel état").select_option(label="résolu")
    page.get_by_label("Motif (lu par le déclarant").fill("Trou rebouché ce matin.")
    page.get_by_role("button", name="Changer l'état").click()
    page.wait_for_load_state()
    assert page.locator("#report-status").inner_text() == "résolu"
    page.screenshot(path=str(artefacts / "signalements-traitement.png"), full_page=True)

    # 5. The reporter's tracking page and e-mail say « résolu ».
    page.context.clear_cookies()
    page.goto(tracking_url)
    assert page.locator("#report-status").inner_text() == "résolu"
    page.get_by_text("Trou rebouché ce matin.").first.wait_for()
    page.screenshot(path=str(artefacts / "signalements-suivi.png"), full_page=True)
    resolved = [m for m in mailbox.to("riveraine@exemple.test") if "résolu" in m["subject"]]
    assert resolved and "Trou rebouché ce matin." in resolved[0]["body"]
    assert Report.objects.get(pk=report.pk).status == Status.RESOLVED

    # 6. The public layer (REST API, anonymous) shows the point, never the contact.
    answer = page.request.get(f"{base}/api/layers/signalements/features?crs=4326")
    assert answer.status == 200
    body = answer.text()
    assert report.reference in body and "riveraine" not in body and "@" not in body
    assert not page.console_errors
