"""The manager's screens in Chromium: drawing a campaign zone on the map, the dashboard's charts,
the control page's report link. Screenshots are kept as artefacts (docs/img/spanc-*.png come
from them)."""
import datetime

from django.contrib.gis.geos import Point

from territory.models import Commune
from conftest import log_in
from fieldsync.models import Campaign, ControlStatus

from . import manager_data
from .conftest import GUERANDE, LA_BAULE, make_installation



def guerande_street():
    origin = Commune.objects.get(insee=GUERANDE).geom.point_on_surface
    made = []
    for index in range(3):
        installation = make_installation(GUERANDE, f"{index + 1} route de Saillé")
        installation.location = Point(origin.x + 250 * (index - 1), origin.y, srid=2154)
        installation.save()
        made.append(installation)
    return made


def test_drawing_a_zone_plans_the_installations_inside(committed_demo, live_server, browser_page,
                                                       artefacts, settings, tmp_path):
    settings.FIELDSYNC_PHOTO_ROOT = tmp_path
    street = guerande_street()
    make_installation(LA_BAULE, "3 allée des Pins")
    page = browser_page
    log_in(page, live_server.url, "responsable.spanc")
    page.goto(f"{live_server.url}/spanc/campagnes/nouvelle/")
    page.wait_for_load_state("networkidle")
    middle = street[1].location.transform(4326, clone=True)
    page.evaluate("([lon, lat]) => { const v = document.getElementById('planning-map').olMap"
                  ".getView(); v.setCenter(ol.proj.fromLonLat([lon, lat])); v.setZoom(15); }",
                  [middle.x, middle.y])
    page.wait_for_timeout(300)
    corners = page.evaluate(
        "([lon, lat]) => { const m = document.getElementById('planning-map').olMap;"
        " const d = 0.0045, e = 0.002; return [[lon - d, lat - e], [lon + d, lat - e],"
        " [lon + d, lat + e], [lon - d, lat + e]].map(c => m.getPixelFromCoordinate("
        "ol.proj.fromLonLat(c))); }", [middle.x, middle.y])
    box = page.locator("#planning-map").bounding_box()
    page.get_by_role("button", name="Dessiner une zone").click()
    for x, y in corners:
        page.mouse.click(box["x"] + x, box["y"] + y)
    page.mouse.click(box["x"] + corners[0][0], box["y"] + corners[0][1])  # closes the polygon
    status = page.locator("#planning-status")
    status.filter(has_text="3 installation(s) à planifier").wait_for()
    page.wait_for_timeout(500)  # the map redraws the selection on its next frame
    assert '"Polygon"' in page.locator("textarea[name=area]").input_value()
    page.fill("input[name=name]", "Route de Saillé 2026")
    page.select_option("select[name=kind]", label="Contrôle périodique de bon fonctionnement et d'entretien")
    page.screenshot(path=str(artefacts / "spanc-planification.png"), full_page=True)
    page.get_by_role("button", name="Planifier", exact=True).click()
    page.wait_for_load_state()
    assert "3 contrôle(s) planifié(s)" in page.content()
    campaign = Campaign.objects.get(name="Route de Saillé 2026")
    assert sorted(c.installation_id for c in campaign.controls.all()) == \
        sorted(i.pk for i in street)
    assert page.console_errors == []


def test_dashboard_and_report_link(committed_demo, live_server, browser_page, artefacts,
                                   settings, tmp_path):
    settings.FIELDSYNC_PHOTO_ROOT = tmp_path
    today = datetime.date.today()
    year = today.year - 1
    street = guerande_street()
    manager_data.control(street[0], visit_date=datetime.date(year, 3, 10))
    validated = manager_data.control(street[1], defects={"contact_direct"},
                                     visit_date=datetime.date(year, 5, 20),
                                     comments="Couvercle de la fosse cassé.")
    manager_data.control(street[2], defects={"usure"}, visit_date=datetime.date(year, 6, 2))
    baule = make_installation(LA_BAULE, "3 allée des Pins")
    manager_data.control(baule, defects={"installation_incomplete"},
                         visit_date=datetime.date(year, 9, 9))
    manager_data.control(make_installation(LA_BAULE, "8 avenue des Lilas"),
                         status=ControlStatus.ASSIGNED)
    page = browser_page
    log_in(page, live_server.url, "responsable.spanc")
    page.goto(f"{live_server.url}/spanc/tableau-de-bord/?annee={year}")
    assert page.locator("svg[role=img]").count() == 3
    assert page.locator("svg[role=img] title").first.text_content().startswith(
        "Contrôles réalisés et échéances par mois")
    page.screenshot(path=str(artefacts / "spanc-tableau-de-bord.png"), full_page=True)
    page.goto(f"{live_server.url}/spanc/controles/{validated.uuid}/")
    link = page.get_by_role("link", name="Rapport de visite (PDF)")
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"%PDF")
    page.screenshot(path=str(artefacts / "spanc-controle.png"), full_page=True)
    (artefacts / "rapport.pdf").write_bytes(response.body())
    assert page.console_errors == []
