"""The field app in headless Chromium against live_server: download the package, work with the
network off (the app shell and data come from the service worker's cache and IndexedDB), fill a
control with a camera photo, sync once back online, and find the control in PostGIS and in the
catalogue layer with its photo verified. Also: a failed push keeps the pending counter, and a
record changed on the server meanwhile shows as a conflict the inspector re-bases.

CAPGEO_DOC_SCREENSHOTS=1 also writes the guide's screenshots (docs/img/terrain-*.png)."""
import hashlib
import io
import json
import os
import re
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from conftest import log_in
from accounts.models import User
from territory.models import Commune
from fieldsync import campaigns, push_queue
from fieldsync.models import (
    Control, ControlKind, ControlStatus, Device, PhotoBlob, SyncBatch, SyncChange,
)

from signalements.tests.conftest import mailbox, smtp_server  # noqa: F401 - fixtures

from .conftest import GUERANDE, LA_BAULE, Tablet, control_change, make_installation

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def jpeg_photo():
    image = Image.new("RGB", (640, 480), (120, 150, 110))
    pen = ImageDraw.Draw(image)
    pen.rectangle([200, 160, 440, 360], fill=(90, 90, 95), outline=(30, 30, 30), width=6)
    pen.ellipse([270, 210, 370, 310], fill=(60, 60, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture
def field_campaign(committed_demo):
    """Two installations (Guérande, La Baule) planned and assigned to controleur.spanc."""
    make_installation(GUERANDE, "12 route de Saillé")
    make_installation(LA_BAULE, "3 allée des Pins", owner="Pierre Le Floch")
    manager = User.objects.get(username="responsable.spanc")
    campaign, _count = campaigns.plan_campaign(
        manager, "Campagne 2025", ControlKind.objects.get(code="bon_fonctionnement"),
        list(Commune.objects.filter(insee__in=[GUERANDE, LA_BAULE])))
    campaigns.assign(manager, list(campaign.controls.all()),
                              User.objects.get(username="controleur.spanc"))
    return campaign


def shot(page, artefacts, name):
    if os.environ.get("CAPGEO_DOC_SCREENSHOTS"):  # first: a full-page capture moves the view
        page.screenshot(path=str(DOCS_IMG / f"{name}.png"), full_page=False)
    page.screenshot(path=str(artefacts / f"{name}.png"), full_page=True)


def open_app_and_download(page, base_url):
    log_in(page, base_url, "controleur.spanc")
    page.goto(base_url + "/terrain/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.click("#download-button")
    expect(page.locator("#banner")).to_contain_text("2 contrôles téléchargés.",
                                                    timeout=120_000)
    expect(page.locator("#assignments li")).to_have_count(2)


def network_reachable(page):
    return page.evaluate("fetch('/healthz', {cache: 'no-store'}).then(() => true, () => false)")


def pending(page):
    return page.locator("#pending")


def test_offline_control_with_photo_synced_to_postgis_and_the_catalogue_layer(
        field_campaign, live_server, browser_page, artefacts):
    page = browser_page
    open_app_and_download(page, live_server.url)
    assert "tuiles" in page.locator("#banner").inner_text()
    shot(page, artefacts, "terrain-liste")

    # Network off: the reloaded page, its scripts, the data and the map tiles come from the
    # service worker's caches and IndexedDB.
    page.context.set_offline(True)
    assert network_reachable(page) is False
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#network")).to_have_text("Hors ligne")
    expect(page.locator("#assignments li")).to_have_count(2)
    page.click("nav.tabs button[data-view=map]")
    page.wait_for_function(
        "document.querySelectorAll('#map canvas').length > 0 && "
        "performance.getEntriesByType('resource').some(e => e.name.includes('REQUEST=GetMap'))")
    tiles_served = page.evaluate("""async () => {
        const cache = await caches.open('terrain-tiles');
        return (await cache.keys()).length; }""")
    assert tiles_served > 10
    shot(page, artefacts, "terrain-carte")
    page.click("nav.tabs button[data-view=list]")

    # Fill the control at Guérande: every checklist point, one defect, a photo.
    page.locator("#assignments li", has_text="12 route de Saillé").locator("button").click()
    page.click("button.all-ok")
    page.check("fieldset[data-item=contact_direct] input[value=defect]")
    page.fill("fieldset[data-item=contact_direct] .finding-comment", "Regard de sortie cassé")
    page.fill("textarea[name=comments]", "Visite faite en présence du propriétaire.")
    photo = jpeg_photo()
    page.set_input_files("input[type=file]", files=[
        {"name": "regard.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator(".photos li")).to_have_count(1)
    page.fill(".photos li .caption", "Regard de sortie")
    expect(page.locator(".conclusion")).to_contain_text("Conclusion prévue")
    page.evaluate("document.querySelector('.conclusion').scrollIntoView({block: 'center'})")
    shot(page, artefacts, "terrain-formulaire")
    page.click("button[value=submitted]")
    expect(pending(page)).to_have_text("1 modification en attente")

    # Sync with the network still off: nothing lost, the counter stays.
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Pas de réseau")
    expect(pending(page)).to_have_text("1 modification en attente")
    shot(page, artefacts, "terrain-hors-ligne")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(pending(page)).to_have_text("1 modification en attente")

    # Back online: sync.
    page.context.set_offline(False)
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Synchronisation terminée", timeout=60_000)
    expect(page.locator("#sync-results")).to_contain_text("appliquée")
    expect(page.locator("#banner")).to_contain_text("1 photo envoyée et vérifiée.")
    expect(pending(page)).to_have_text("Aucune modification en attente")
    shot(page, artefacts, "terrain-synchronisation")

    # In PostGIS, through the ORM…
    control = Control.objects.get(installation__address="12 route de Saillé")
    assert control.status == ControlStatus.SUBMITTED
    assert control.conclusion.code == "danger_sante"
    assert control.findings.get(item__code="contact_direct").comment == "Regard de sortie cassé"
    assert control.photos.get().caption == "Regard de sortie"
    blob = PhotoBlob.objects.get(sha256=hashlib.sha256(photo).hexdigest())
    assert blob.verified and blob.size == len(photo)
    # …in the catalogue layer's table…
    with connection.cursor() as cursor:
        cursor.execute("SELECT statut, conclusion, ST_SRID(geom) FROM layers_data.spanc_controles "
                       "WHERE uuid = %s", [control.uuid])
        assert cursor.fetchone() == ("submitted", "danger_sante", 2154)
    # …and as a feature of the catalogue layer, for the SPANC manager.
    manager = Client()
    manager.force_login(User.objects.get(username="responsable.spanc"))
    response = manager.get("/api/layers/spanc_controles/features")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    features = {f["properties"]["uuid"]: f for f in json.loads(body)["features"]}
    assert features[str(control.uuid)]["properties"]["statut"] == "submitted"
    photos = manager.get(f"/api/sync/controls/{control.uuid}/photos/").json()
    assert photos["missing"] == [] and photos["photos"][0]["verified"] is True
    content = manager.get(f"/api/sync/photos/{blob.sha256}/content/")
    assert b"".join(content.streaming_content) == photo
    # The local copy was purged only now that the server confirmed the control and its photo.
    assert page.evaluate("""async () => {
        const photos = await Terrain.store.all('photos');
        const drafts = (await Terrain.store.all('controls')).filter(r => r.draft);
        return photos.length + drafts.length; }""") == 0

    # A transmitted control is immutable: "Corriger" sends a correction that supersedes it.
    page.click("nav.tabs button[data-view=list]")
    page.locator("#assignments li", has_text="12 route de Saillé").locator("button").click()
    expect(page.locator("textarea[name=comments]")).to_be_disabled()
    page.click("button.correct")
    page.fill("textarea[name=comments]", "Correction : regard fêlé, pas cassé")
    page.click("button[value=submitted]")
    expect(pending(page)).to_have_text("1 modification en attente")
    # Sent as a large batch is (Prefer: respond-async): stored, answered 202, applied by the
    # background worker (here, the test plays the worker), then read at its Location.
    page.evaluate("Terrain.api.ASYNC_FROM = 1")
    page.click("#sync-button")
    deadline = time.monotonic() + 30
    while not SyncBatch.objects.filter(response__isnull=True).exists():
        assert time.monotonic() < deadline, "the batch never reached the server"
        time.sleep(0.2)
    queued = SyncBatch.objects.get(response__isnull=True)
    assert push_queue.apply_batch.call(str(queued.id))["state"] == "done"
    expect(page.locator("#sync-results")).to_contain_text("appliquée", timeout=30_000)
    expect(pending(page)).to_have_text("Aucune modification en attente")
    correction = Control.objects.get(supersedes=control)
    assert correction.comments == "Correction : regard fêlé, pas cassé"
    assert correction.status == ControlStatus.SUBMITTED and correction.photos.count() == 1
    page.click("nav.tabs button[data-view=list]")
    expect(page.locator("#assignments li")).to_have_count(2)  # the correction replaced it
    assert page.console_errors == []


def test_conflict_shown_and_rebased_on_the_server_version(
        field_campaign, live_server, browser_page, artefacts):
    page = browser_page
    open_app_and_download(page, live_server.url)
    page.locator("#assignments li", has_text="3 allée des Pins").locator("button").click()
    page.fill("textarea[name=comments]", "Saisie de la tablette")
    page.click("button[value=in_progress]")
    expect(pending(page)).to_have_text("1 modification en attente")

    # Meanwhile the same control is changed on the server from another device.
    other = Tablet("controleur.spanc", "Autre tablette")
    control = next(c for c in other.package()["controls"]
                   if Control.objects.get(uuid=c["id"]).installation.address == "3 allée des Pins")
    answer = other.push([control_change(control, status="in_progress",
                                        comments="Saisie du bureau")])[0].json()
    assert answer["results"][0]["status"] == "applied"

    page.click("#sync-button")
    expect(page.locator("#sync-results")).to_contain_text("en conflit")
    conflict = page.locator("article.conflict")
    expect(conflict).to_contain_text("Saisie du bureau")
    expect(conflict).to_contain_text("Saisie de la tablette")
    expect(pending(page)).to_have_text("1 modification en attente")
    shot(page, artefacts, "terrain-conflit")
    assert Control.objects.get(uuid=control["id"]).comments == "Saisie du bureau"

    conflict.locator("button.rebase").click()
    expect(page.locator("article.conflict")).to_have_count(0)

    # The session expired meanwhile: the app says so and keeps the change for after the login.
    page.context.clear_cookies()
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Votre session a expiré")
    expect(page.locator("#banner a")).to_have_attribute("href", "/connexion/?next=/terrain/")
    expect(pending(page)).to_have_text("1 modification en attente")
    page.click("#banner a")
    page.fill("input[name=username]", "controleur.spanc")
    page.fill("input[name=password]", "demo-capgeo")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(live_server.url + "/terrain/")
    page.wait_for_selector("body[data-ready=true]")
    expect(pending(page)).to_have_text("1 modification en attente")
    page.click("#sync-button")
    expect(page.locator("#sync-results")).to_contain_text("appliquée")
    expect(pending(page)).to_have_text("Aucune modification en attente")
    assert Control.objects.get(uuid=control["id"]).comments == "Saisie de la tablette"
    # The re-based change named the conflict it resends: that one, and only it, is closed.
    assert SyncChange.objects.get(status="conflict").resolution == "resubmitted"

    # Nothing left unconfirmed: another SPANC agent may take the tablet over; the first
    # inspector's data (owners' names…) is wiped before the new package comes in.
    page.context.clear_cookies()
    log_in(page, live_server.url, "responsable.spanc")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/terrain/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#download-button")
    expect(page.locator("#banner")).to_contain_text("0 contrôle téléchargé.")
    expect(page.locator("#assignments li")).to_have_count(0)
    assert page.evaluate("Terrain.store.all('installations').then(r => r.length)") == 0
    assert page.console_errors == []



def test_a_deactivated_tablet_says_so_and_does_not_register_again(
        field_campaign, live_server, browser_page):
    page = browser_page
    open_app_and_download(page, live_server.url)
    page.locator("#assignments li", has_text="3 allée des Pins").locator("button").click()
    page.fill("textarea[name=comments]", "Saisie avant la perte")
    page.click("button[value=in_progress]")
    device_id = page.evaluate("Terrain.store.meta('device').then(d => d.id)")
    Device.objects.filter(pk=device_id).update(active=False)
    for _attempt in range(2):
        page.click("#sync-button")
        expect(page.locator("#banner")).to_contain_text("désactivé")
    assert page.evaluate("Terrain.store.meta('device').then(d => d.id)") == device_id
    assert Device.objects.count() == 1  # no new registration, no loop
    expect(pending(page)).to_have_text("1 modification en attente")  # kept on the tablet
    page.click("nav.tabs button[data-view=list]")
    page.click("#download-button")
    expect(page.locator("#banner")).to_contain_text("désactivé")


def test_photo_upload_cut_off_resumes_at_the_bytes_the_server_holds(
        field_campaign, live_server, browser_page, settings):
    settings.FIELDSYNC_MAX_CHUNK_BYTES = 4096  # the app sends chunks the server accepts
    page = browser_page
    open_app_and_download(page, live_server.url)
    page.locator("#assignments li", has_text="3 allée des Pins").locator("button").click()
    page.click("button.all-ok")
    photo = jpeg_photo()
    assert len(photo) > 2 * 4096
    page.set_input_files("input[type=file]", files=[
        {"name": "fosse.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator(".photos li")).to_have_count(1)
    page.click("button[value=submitted]")

    ranges = []
    page.on("request", lambda request: ranges.append(request.headers.get("content-range"))
            if request.method == "PUT" else None)

    def cut_the_second_chunk(route):
        if len([r for r in ranges if r]) == 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/sync/photos/**", cut_the_second_chunk)
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Pas de réseau")
    # The control is on the server, its photo half there: the tablet keeps both.
    expect(pending(page)).to_have_text("1 modification en attente")
    blob = PhotoBlob.objects.get(sha256=hashlib.sha256(photo).hexdigest())
    assert blob.received == 4096 and not blob.verified
    assert page.evaluate("Terrain.store.all('photos').then(p => p.length)") == 1

    page.unroute("**/api/sync/photos/**")
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("1 photo envoyée et vérifiée.")
    expect(pending(page)).to_have_text("Aucune modification en attente")
    blob.refresh_from_db()
    assert blob.verified and blob.received == len(photo)
    assert ranges[0] == f"bytes 0-4095/{len(photo)}"
    assert ranges[2].startswith("bytes 4096-")  # resumed, not restarted
    assert page.evaluate("Terrain.store.all('photos').then(p => p.length)") == 0


# Texts the scripts used to write in French: none may show on the English app.
FRENCH_SCRIPT_TEXTS = ["En ligne", "Hors ligne", "modification en attente", "téléchargé",
                       "attribué", "à faire", "paquet du", "Fond de carte", "tuiles",
                       "Synchronisation terminée", "appliquée", "(contrôle)",
                       "Retour à la liste", "Points de contrôle", "Enregistrer",
                       "Saisie enregistrée"]


def assert_no_french(page):
    text = page.locator("body").inner_text()
    assert [words for words in FRENCH_SCRIPT_TEXTS if words in text] == []


def test_field_app_in_english(field_campaign, live_server, chromium, artefacts):
    # A browser asking for English (Accept-Language en-GB): page, scripts and formats follow.
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, live_server.url, "controleur.spanc")
        page.goto(live_server.url + "/terrain/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.evaluate("document.documentElement.lang") == "en"
        expect(page.locator("#network")).to_have_text("Online")
        expect(pending(page)).to_have_text("No pending change")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        page.click("#download-button")
        expect(page.locator("#banner")).to_contain_text("2 inspections downloaded.",
                                                        timeout=120_000)
        expect(page.locator("#banner")).to_contain_text("basemap tiles cached.")
        expect(page.locator("#assignments li")).to_have_count(2)
        info = page.locator("#package-info").inner_text()
        assert info.startswith("2 inspections assigned to ")
        # The package's date as English writes it (month/day/year, AM/PM), not "29/11/2026 21:38".
        assert re.search(r"package of \d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M",
                         info), info
        expect(page.locator("#tiles-info")).to_contain_text("Offline basemap:")
        expect(page.locator("#assignments li").first).to_contain_text("to do")
        expect(page.locator("#assignments li").first).to_contain_text("assigned")
        assert_no_french(page)
        page.screenshot(path=str(artefacts / "terrain-en-liste.png"), full_page=True)

        # The control form, its checks and the save.
        page.locator("#assignments li", has_text="12 route de Saillé").locator("button").click()
        expect(page.locator("#view-form")).to_contain_text("← Back to the list")
        expect(page.locator("#view-form")).to_contain_text("Checklist points")
        expect(page.locator("label.file")).to_contain_text("Take a photo")
        page.click("button[value=submitted]")
        expect(page.locator(".form-errors")).to_contain_text("checklist points unanswered.")
        assert_no_french(page)
        page.fill("textarea[name=comments]", "Visit with the owner.")
        page.click("button[value=in_progress]")
        expect(page.locator("#banner")).to_have_text("Entry saved on the tablet.")
        expect(pending(page)).to_have_text("1 pending change")

        # Offline, the shell cached in English starts again.
        page.context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#network")).to_have_text("Offline")
        expect(pending(page)).to_have_text("1 pending change")
        expect(page.locator("#assignments li")).to_have_count(2)
        page.click("#sync-button")
        expect(page.locator("#banner")).to_contain_text("No network: the server does not answer.")

        # Back online: the synchronisation view and its results.
        page.context.set_offline(False)
        page.click("#sync-button")
        expect(page.locator("#banner")).to_contain_text("Synchronisation complete.",
                                                        timeout=60_000)
        expect(page.locator("#sync-step")).to_have_text("Synchronisation complete.")
        results = page.locator("#sync-results")
        expect(results).to_contain_text("12 route de Saillé (inspection)")
        expect(results).to_contain_text("applied")
        expect(results).to_contain_text(re.compile(r"Version \d+ · in progress"))
        expect(pending(page)).to_have_text("No pending change")
        assert_no_french(page)
        page.screenshot(path=str(artefacts / "terrain-en-synchronisation.png"), full_page=True)
        assert Control.objects.get(installation__address="12 route de Saillé").comments == \
            "Visit with the owner."
        assert errors == []
    finally:
        context.close()


def test_offline_report_by_a_services_agent_reaches_its_service_once(
        committed_demo, live_server, browser_page, artefacts, mailbox, settings):
    """A Guérande agent reports a pothole in the field app with the network off (type, the
    type's fields, place typed, description, a GPS-tagged photo), syncs back online: one report,
    routed to Guérande's services techniques, in their queue, its photo without metadata, the
    service's e-mail once; a second sync sends nothing again."""
    from signalements.demo import load_signalements_demo
    from signalements.models import Report, Source
    from signalements.tests.support import GUERANDE as PLACE, metadata_of, photo_with_gps

    load_signalements_demo()
    settings.CAPGEO_PUBLIC_URL = live_server.url
    page, base = browser_page, live_server.url
    log_in(page, base, "agent.guerande")
    page.goto(base + "/terrain/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.click("#download-button")
    expect(page.locator("#banner")).to_contain_text("téléchargé", timeout=120_000)
    expect(page.locator("#signalements-section")).to_be_visible()

    page.context.set_offline(True)
    assert network_reachable(page) is False
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#network")).to_have_text("Hors ligne")
    page.click("button.new-report")
    page.get_by_label("Type de problème").select_option(label="Voirie › Nid-de-poule")
    page.get_by_label("Taille du trou").select_option(label="Grand (plus de 50 cm)")
    page.get_by_label("Longitude (WGS 84)").fill(str(PLACE[0]))
    page.get_by_label("Latitude (WGS 84)").fill(str(PLACE[1]))
    page.get_by_label("Latitude (WGS 84)").press("Tab")
    page.locator("#report-description").fill("Nid-de-poule vu en tournée, rue de la Collégiale.")
    photo = photo_with_gps()
    page.set_input_files("input[type=file]", files=[
        {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator(".photos li")).to_have_count(1)
    shot(page, artefacts, "terrain-signalement")
    page.locator(".report-form button[type=submit]").click()
    expect(pending(page)).to_have_text("1 modification en attente")
    expect(page.locator("#signalements-section li")).to_have_count(1)
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Pas de réseau")
    assert not Report.objects.filter(source=Source.FIELD).exists()

    page.context.set_offline(False)
    page.click("#sync-button")
    expect(page.locator("#banner")).to_contain_text("Synchronisation terminée", timeout=60_000)
    expect(page.locator("#sync-results")).to_contain_text("appliquée")
    expect(page.locator("#banner")).to_contain_text("1 photo envoyée et vérifiée.")
    expect(pending(page)).to_have_text("Aucune modification en attente")
    page.click("#sync-button")  # nothing left to send: no second report
    expect(page.locator("#banner")).to_contain_text("Synchronisation terminée", timeout=60_000)

    report = Report.objects.get(source=Source.FIELD)
    assert report.service.code == "guerande-st" and report.commune.insee == "44069"
    assert report.reporter.username == "agent.guerande"
    assert report.attributes["taille"] == "grand"
    stored = report.photos.get()
    assert metadata_of(bytes(stored.data))["gps"] == {}
    assert len(mailbox.to("services-techniques@guerande.demo")) == 1
    agent = Client()
    agent.force_login(User.objects.get(username="agent.guerande"))
    assert report.reference in agent.get("/signalements/traitement/").content.decode()
    page.click("nav.tabs button[data-view=list]")
    expect(page.locator("#signalements-section li")).to_contain_text(report.reference)
    assert page.console_errors == []
