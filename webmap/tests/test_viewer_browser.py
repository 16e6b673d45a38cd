"""The viewer in headless Chromium against live_server and the committed demo: layers drawn by
the platform's WMS, identify, search, permalink, exports, access policy and bad links."""
import io

import pytest
from django.db import connection
from django.urls import Resolver404, resolve
from PIL import Image, ImageChops

from conftest import log_in

from webmap.models import SavedMap, SavedMapLayer
from layers.models import Layer


def print_endpoint_exists():
    try:
        return resolve("/carte/impression/").url_name != "saved"
    except Resolver404:
        return False


def open_viewer(page, url):
    page.goto(url)
    page.wait_for_function("window.capgeoViewer !== undefined")
    wait_idle(page)


def wait_idle(page):
    """Every WMS image requested so far has arrived and the map has rendered."""
    page.wait_for_function("window.capgeoViewer.pending() === 0")
    page.evaluate("""() => new Promise((done) => {
        const map = window.capgeoViewer.map;
        map.once('rendercomplete', () => done());
        map.render();
    })""")
    page.wait_for_function("window.capgeoViewer.pending() === 0")


def map_image(page):
    return Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB")


def changed_pixels(before, after):
    difference = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v > 24 else 0)
    return difference.histogram()[255]


def tree_layers(page):
    return set(page.eval_on_selector_all("#wm-tree input[type=checkbox]", "els => els.map(e => e.value)"))


def lon_lat(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(({sql}), 4326) p) s", params)
        return cursor.fetchone()


def centre_on(page, lon, lat, zoom=16):
    page.evaluate("""([lon, lat, zoom]) => {
        const view = window.capgeoViewer.map.getView();
        view.setCenter(ol.proj.fromLonLat([lon, lat]));
        view.setZoom(zoom);
    }""", [lon, lat, zoom])
    wait_idle(page)


def click_map_centre(page):
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def popup_text(page):
    page.wait_for_selector("#wm-popup:not([hidden])")
    page.wait_for_function("!document.querySelector('#wm-popup .wm-popup-body .wm-status')")
    return page.locator("#wm-popup").inner_text()


def test_anonymous_visitor_toggles_a_layer_and_reads_a_popup(committed_demo, live_server,
                                                             browser_page, artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/")
    assert {"communes", "mairies", "zones_activite"} <= tree_layers(page)
    assert not tree_layers(page) & {"reseau_fibre", "installations_anc"}
    before = map_image(page)
    page.check("#wm-layer-zones_activite")
    wait_idle(page)
    after = map_image(page)
    assert changed_pixels(before, after) > 500, "the zones should appear on the map"
    page.screenshot(path=str(artefacts / "zones.png"))

    page.check("#wm-layer-mairies")
    lon, lat = lon_lat("SELECT h.location FROM territory_townhall h JOIN territory_commune c "
                       "ON c.id = h.commune_id WHERE c.insee = '44069'")
    centre_on(page, lon, lat)
    click_map_centre(page)
    text = popup_text(page)
    assert "Mairies" in text and "Guérande" in text and "44069" in text
    page.screenshot(path=str(artefacts / "popup.png"))
    page.keyboard.press("Escape")
    assert page.locator("#wm-popup").is_hidden()
    assert page.console_errors == []


def test_search_a_commune_moves_the_map(committed_demo, live_server, browser_page, artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/")
    centre_before = page.evaluate("window.capgeoViewer.map.getView().getCenter()")
    page.fill("#wm-search-input", "la baule")
    page.locator("#wm-search-results button", has_text="La Baule-Escoublac (44055)").click()
    page.wait_for_function("!window.capgeoViewer.map.getView().getAnimating()")
    wait_idle(page)
    centre = page.evaluate("ol.proj.toLonLat(window.capgeoViewer.map.getView().getCenter())")
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Contains(ST_Transform(geom, 4326), ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
                       " OR ST_DWithin(ST_Transform(geom, 4326), ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0.01)"
                       " FROM territory_commune WHERE insee = '44055'", [*centre, *centre])
        assert cursor.fetchone()[0], centre
    assert centre_before != page.evaluate("window.capgeoViewer.map.getView().getCenter()")
    page.screenshot(path=str(artefacts / "recherche.png"))


def test_permalink_reopens_the_same_map(committed_demo, live_server, browser_page, artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/")
    page.check("#wm-layer-communes")
    page.check("#wm-layer-zones_activite")
    page.check("#wm-layer-mairies")
    page.locator('#wm-order li[data-layer="mairies"] [data-move="-1"]').click()  # below zones
    page.fill("#wm-opacity-zones_activite", "40")
    page.dispatch_event("#wm-opacity-zones_activite", "input")
    page.check("#wm-basemap-aucun")
    centre_on(page, -2.40, 47.30, 12.5)
    first = map_image(page)
    page.click("#wm-permalink-button")
    link = page.input_value("#wm-permalink-input")
    assert "couches=communes:1,mairies:1,zones_activite:0.4" in link and "fond=aucun" in link
    state = page.evaluate("""() => ({layers: window.capgeoViewer.activeLayers(),
        basemap: window.capgeoViewer.basemap(),
        centre: window.capgeoViewer.map.getView().getCenter(),
        zoom: window.capgeoViewer.map.getView().getZoom()})""")

    other = page.context.new_page()
    open_viewer(other, link)
    again = other.evaluate("""() => ({layers: window.capgeoViewer.activeLayers(),
        basemap: window.capgeoViewer.basemap(),
        centre: window.capgeoViewer.map.getView().getCenter(),
        zoom: window.capgeoViewer.map.getView().getZoom()})""")
    assert again["layers"] == state["layers"]
    assert again["basemap"] == "aucun"
    assert again["zoom"] == pytest.approx(state["zoom"], abs=0.001)
    assert again["centre"] == pytest.approx(state["centre"], abs=1)
    second = map_image(other)
    assert changed_pixels(first, second) < first.width * first.height * 0.01
    other.screenshot(path=str(artefacts / "permalien.png"))
    other.close()


def test_export_png_is_not_blank(committed_demo, live_server, browser_page, artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/#couches=zones_activite:1,mairies:1")
    with page.expect_download() as download_info:
        page.click("#wm-export-png")
    path = artefacts / "export.png"
    download_info.value.save_as(path)
    image = Image.open(path).convert("RGB")
    assert image.size[0] > 300 and image.size[1] > 300
    colours = image.getcolors(1 << 20)
    assert len(colours) > 10, "a uniform picture is a failed export"
    assert max(count for count, _ in colours) < image.size[0] * image.size[1] * 0.95


@pytest.mark.skipif(not print_endpoint_exists(),
                    reason="POST /carte/impression/ (the server print service, built by another "
                           "engineer) is not mounted in capgeo/urls.py yet")
def test_export_pdf_is_a_real_document(committed_demo, live_server, browser_page, artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/#couches=zones_activite:1,mairies:1")
    page.click("#wm-export-pdf")
    page.select_option("#wm-print-paper", "A4")
    page.select_option("#wm-print-orientation", "landscape")
    with page.expect_download(timeout=90_000) as download_info:
        page.click("#wm-print button[type=submit]")
    path = artefacts / "export.pdf"
    download_info.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000


def fibre_point(insee):
    """A point in the middle of one fibre segment of that commune (WGS 84)."""
    return lon_lat("SELECT ST_LineInterpolatePoint(t.geom, 0.5) FROM layers_data.reseau_fibre t "
                   "WHERE t.code_insee = %s ORDER BY ST_Length(t.geom) DESC LIMIT 1", [insee])


@pytest.mark.parametrize("username, sees_guerande_fibre", [
    ("agent.guerande", True), ("agent.labaule", False)])
def test_agent_never_sees_another_communes_restricted_features(
        committed_demo, live_server, browser_page, artefacts, username, sees_guerande_fibre):
    page = browser_page
    log_in(page, live_server.url, username)
    open_viewer(page, live_server.url + "/carte/#couches=reseau_fibre:1")
    assert "reseau_fibre" in tree_layers(page)
    lon, lat = fibre_point("44069")
    centre_on(page, lon, lat, 17)
    click_map_centre(page)
    text = popup_text(page)
    page.screenshot(path=str(artefacts / f"fibre-{username}.png"))
    if sees_guerande_fibre:
        assert "Réseau fibre optique" in text and "44069" in text
    else:
        assert "44069" not in text and "Aucun objet" in text


def test_anonymous_never_sees_restricted_layers_or_maps(committed_demo, live_server,
                                                        browser_page, artefacts):
    public = SavedMap.objects.create(slug="test-economie", title="Économie du territoire")
    SavedMapLayer.objects.create(saved_map=public, layer=Layer.objects.get(name="zones_activite"))
    SavedMapLayer.objects.create(saved_map=public, layer=Layer.objects.get(name="reseau_fibre"),
                                 position=1)
    SavedMap.objects.create(slug="test-interne", title="Carte interne", audience="authenticated")
    page = browser_page
    page.goto(live_server.url + "/carte/cartes/")
    cards = page.locator(".wm-card h2").all_inner_texts()
    assert "Économie du territoire" in cards and "Carte interne" not in cards
    page.wait_for_function("[...document.querySelectorAll('.wm-card img')].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artefacts / "galerie.png"), full_page=True)
    page.click("text=Économie du territoire")
    page.wait_for_function("window.capgeoViewer !== undefined")
    wait_idle(page)
    assert [l["name"] for l in page.evaluate("window.capgeoViewer.activeLayers()")] == ["zones_activite"]
    notices = page.locator("#wm-notices").inner_text()
    assert "1 couche de cette carte n'est pas affichée" in notices
    assert not tree_layers(page) & {"reseau_fibre", "installations_anc"}
    assert "reseau_fibre" not in page.content()


@pytest.mark.parametrize("link, message", [
    ("/carte/#couches=inexistante:1,zones_activite:0.5", "Couches inconnues ou non accessibles, ignorées : inexistante"),
    ("/carte/#couches=reseau_fibre:1", "Couches inconnues ou non accessibles, ignorées : reseau_fibre"),
    ("/carte/#centre=999,-999&zoom=80", "L'emprise demandée dans le lien est invalide"),
    ("/carte/#emprise=10,10,5,5", "L'emprise demandée dans le lien est invalide"),
    ("/carte/#centre=abc&zoom=&couches=:::,,&fond=nulle-part", "Le lien de carte est mal formé (fond)"),
    ("/carte/carte-disparue/", "La carte « carte-disparue » n'existe pas ou ne vous est pas accessible"),
])
def test_bad_links_open_the_viewer_with_a_french_message(committed_demo, live_server,
                                                         browser_page, link, message):
    page = browser_page
    open_viewer(page, live_server.url + link)
    assert message in page.locator("#wm-notices").inner_text()
    assert page.locator("#map canvas").count() >= 1  # a map, never a blank page
    assert page.evaluate("window.capgeoViewer.map.getView().getCenter().every(Number.isFinite)")
    assert page.console_errors == []


def test_saved_map_with_a_deleted_layer_opens_with_a_notice(committed_demo, live_server,
                                                           browser_page, artefacts):
    saved = SavedMap.objects.create(slug="temporaire", title="Carte temporaire")
    for position, name in enumerate(["communes", "zones_activite"]):
        SavedMapLayer.objects.create(saved_map=saved, layer=Layer.objects.get(name=name),
                                     position=position)
    Layer.objects.get(name="zones_activite").delete()
    page = browser_page
    open_viewer(page, live_server.url + "/carte/?carte=temporaire")
    assert "elle a été supprimée ou son accès vous est restreint" in page.locator("#wm-notices").inner_text()
    assert [l["name"] for l in page.evaluate("window.capgeoViewer.activeLayers()")] == ["communes"]
    assert page.locator(".wm-title").inner_text() == "Carte temporaire"
    page.screenshot(path=str(artefacts / "couche-supprimee.png"))


def test_tablet_touch_and_keyboard(committed_demo, live_server, chromium, artefacts):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 768, "height": 1024},
                                   has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        open_viewer(page, live_server.url + "/carte/#couches=mairies:1")
        narrow = page.locator("#map").bounding_box()["width"]
        page.tap("#wm-panel-toggle")
        assert page.get_attribute("#wm-panel-toggle", "aria-expanded") == "false"
        assert page.locator("#wm-panel").is_hidden()
        assert page.locator("#map").bounding_box()["width"] > narrow + 200

        lon, lat = lon_lat("SELECT h.location FROM territory_townhall h JOIN territory_commune c "
                           "ON c.id = h.commune_id WHERE c.insee = '44055'")
        centre_on(page, lon, lat)
        box = page.locator("#map").bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert "La Baule-Escoublac" in popup_text(page)
        page.screenshot(path=str(artefacts / "tablette.png"))
        page.keyboard.press("Escape")
        assert page.locator("#wm-popup").is_hidden()

        # Keyboard only: the map takes the focus, Enter identifies what is at its centre.
        page.focus("#map")
        page.keyboard.press("Enter")
        assert "La Baule-Escoublac" in popup_text(page)
        assert page.evaluate("document.activeElement.id") == "wm-popup-title"
        assert errors == []
    finally:
        context.close()


def test_loading_indicator_and_layer_error_message(committed_demo, live_server, browser_page,
                                                   artefacts):
    page = browser_page
    open_viewer(page, live_server.url + "/carte/")
    held = []
    page.route("**/ows?*LAYERS=zones_activite*", lambda route: held.append(route))
    page.check("#wm-layer-zones_activite")
    page.wait_for_selector("#wm-loading:not([hidden])")
    assert page.locator("#wm-loading").inner_text() == "Chargement des couches…"
    page.wait_for_function("window.capgeoViewer.pending() > 0")
    page.screenshot(path=str(artefacts / "chargement.png"))
    assert held, "the GetMap request of the layer is held by the test"
    # The map server fails for that layer: the indicator goes, a French message stays.
    for route in held:
        route.fulfill(status=500, body="panne", content_type="text/plain")
    page.wait_for_selector("#wm-loading", state="hidden")
    notice = page.locator("#wm-notices").inner_text()
    assert "La couche « Zones d'activité économique » n'a pas pu être affichée" in notice
