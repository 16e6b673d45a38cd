"""The visit report (PDF) of a validated control: content, maps, refusals and who may get it."""
import datetime
import html
import io

import pytest
from django.test import Client
from PIL import Image
from pypdf import PdfReader

from accounts.models import Role, User
from territory.models import Commune
from fieldsync.models import ControlStatus
from fieldsync.report import map_extract
from fieldsync.verdict import add_years

from . import manager_data
from .conftest import GUERANDE, LA_BAULE, make_installation, user

pytestmark = pytest.mark.django_db

VISIT = datetime.date(2025, 3, 12)


def client_for(username=None):
    client = Client()
    if username:
        client.force_login(user(username))
    return client


def report_url(control):
    return f"/spanc/controles/{control.uuid}/rapport.pdf"


def pdf_text(content):
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), reader


@pytest.fixture
def danger_control(db):
    installation = make_installation(GUERANDE, "12 route de Saillé")
    control = manager_data.control(installation, defects={"contact_direct"}, visit_date=VISIT,
                                   comments="Couvercle de la fosse cassé.")
    manager_data.stored_photo(control, manager_data.jpeg(text="fosse"), "Fosse toutes eaux")
    manager_data.stored_photo(control, manager_data.jpeg((150, 90, 60), text="regard"),
                              "Regard de sortie")
    return control


def test_validated_control_gives_a_french_pdf_with_verdict_works_and_mentions(danger_control):
    response = client_for("responsable.spanc").get(report_url(danger_control))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")
    text, reader = pdf_text(response.content)
    flat = " ".join(text.split())
    assert "Rapport de visite" in flat
    assert "Cap Atlantique" in flat                                  # intercommunality header
    assert "Non conforme : danger pour la santé des personnes" in flat   # Annexe II verdict
    assert "danger pour la santé des personnes ; hors zone à enjeu" in flat
    assert "12 route de Saillé" in flat and "Guérande (44069)" in flat
    assert "000 AB 12" in flat and "Jeanne Martin" in flat           # parcels, owner
    assert "Contrôle périodique de bon fonctionnement et d'entretien" in flat
    assert "12 mars 2025" in flat                                    # visit date, French
    assert "Maëlle Robin" in flat                                    # inspector
    # Works within 4 years of the visit; next control at the non-compliant periodicity (4 years).
    assert danger_control.works_due_on == add_years(VISIT, 4)
    assert "au plus tard le 12 mars 2029" in flat
    assert "Prochain contrôle périodique : 12 mars 2029" in flat
    assert "Couvercle de la fosse cassé." in flat
    assert "Fosse toutes eaux" in flat and "Regard de sortie" in flat  # photo captions
    assert "arrêté du 27 avril 2012" in flat and "annexe II" in flat
    assert "tribunal administratif de Nantes" in flat and "deux mois" in flat
    # Checklist findings with their Annexe II category.
    assert "Défaut de sécurité sanitaire" in flat and "non satisfaisant" in flat
    assert "défauts d'entretien ou d'usure" in flat
    assert reader.metadata.title == "Rapport de visite SPANC"
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 3                                          # 2 photos + the map


def test_compliant_control_says_so_and_requires_no_works(db):
    control = manager_data.control(make_installation(LA_BAULE, "3 allée des Pins"),
                                   visit_date=VISIT)
    response = client_for("admin.sig").get(report_url(control))
    assert response.status_code == 200
    flat = " ".join(pdf_text(response.content)[0].split())
    assert "Absence de non-conformité" in flat
    assert "Aucuns travaux obligatoires." in flat
    assert "Prochain contrôle périodique : 12 mars 2035" in flat      # 10-year periodicity


def test_sale_control_without_sale_date_gives_one_year_after_the_deed(db):
    control = manager_data.control(make_installation(GUERANDE), kind="vente",
                                   defects={"installation_incomplete"}, visit_date=VISIT)
    response = client_for("responsable.spanc").get(report_url(control))
    flat = " ".join(pdf_text(response.content)[0].split())
    assert "Non conforme" in flat
    assert "un an après la signature de l'acte de vente" in flat
    assert "non connue à la date du contrôle" in flat


@pytest.mark.parametrize("status", [ControlStatus.SUBMITTED, ControlStatus.REJECTED,
                                    ControlStatus.ASSIGNED])
def test_a_control_not_validated_has_no_report(db, status):
    control = manager_data.control(make_installation(GUERANDE), status=status, visit_date=VISIT)
    response = client_for("responsable.spanc").get(report_url(control))
    assert response.status_code == 409
    assert "n'est établi que pour un contrôle validé" in html.unescape(response.content.decode())
    assert not response.content.startswith(b"%PDF")


def test_a_corrected_control_points_to_its_correction(db):
    installation = make_installation(GUERANDE)
    first = manager_data.control(installation, visit_date=VISIT)
    correction = manager_data.control(installation, visit_date=VISIT)
    correction.supersedes = first
    correction.save()
    response = client_for("responsable.spanc").get(report_url(first))
    assert response.status_code == 409 and "a été corrigé" in html.unescape(response.content.decode())
    assert client_for("responsable.spanc").get(report_url(correction)).status_code == 200


def test_only_spanc_staff_of_the_commune_and_administrators_get_the_report(danger_control):
    url = report_url(danger_control)
    other_manager = User.objects.create_user(
        "spanc.labaule", password="x", role=Role.SPANC_MANAGER,
        commune=Commune.objects.get(insee=LA_BAULE))
    same_manager = User.objects.create_user(
        "spanc.guerande", password="x", role=Role.SPANC_MANAGER,
        commune=Commune.objects.get(insee=GUERANDE))
    assert client_for().get(url).status_code == 404                    # anonymous
    assert client_for("agent.labaule").get(url).status_code == 404     # another commune
    assert client_for("agent.guerande").get(url).status_code == 404    # no access to owners
    assert client_for("lecteur").get(url).status_code == 404
    client = Client()
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client = Client()
    client.force_login(same_manager)
    assert client.get(url).status_code == 200
    assert client_for("controleur.spanc").get(url).status_code == 200  # its inspector
    assert client_for("admin.sig").get(url).status_code == 200


def test_control_page_links_the_report_once_validated(danger_control):
    page = client_for("responsable.spanc").get(f"/spanc/controles/{danger_control.uuid}/")
    assert report_url(danger_control) in page.content.decode()
    submitted = manager_data.control(make_installation(GUERANDE), status=ControlStatus.SUBMITTED,
                                     visit_date=VISIT)
    page = client_for("responsable.spanc").get(f"/spanc/controles/{submitted.uuid}/")
    assert "rapport.pdf" not in page.content.decode()


def test_situation_map_shows_the_communes_and_the_installation(danger_control):
    installation = danger_control.installation
    extract = map_extract.situation_map(user("responsable.spanc"), installation)
    assert [layer.name for layer in extract.layers] == ["communes"]
    picture = Image.open(io.BytesIO(extract.png)).convert("RGB")
    assert picture.size == (map_extract.WIDTH, map_extract.HEIGHT)
    colours = picture.getcolors(maxcolors=1 << 20)
    assert len(colours) > 20                                  # not a blank image
    # The marker is where the installation is: its red centre at the point's pixel.
    minx, miny, maxx, maxy = extract.box
    px = round((installation.location.x - minx) / (maxx - minx) * extract.width)
    py = round((maxy - installation.location.y) / (maxy - miny) * extract.height)
    red, green, blue = picture.getpixel((px, py))
    assert red > 150 and green < 100 and blue < 100
    # Commune boundaries drawn in the print style's grey-blue, away from the marker.
    boundary = sum(count for count, (r, g, b) in colours
                   if abs(r - 0x5d) < 25 and abs(g - 0x6d) < 25 and abs(b - 0x7e) < 25)
    assert boundary > 500


def test_map_layers_go_through_the_access_policy(db, settings):
    installation = make_installation(GUERANDE)
    names = ["communes", "installations_anc", "no_such_layer"]
    assert [s.layer.name for s in map_extract.served_layers(user("lecteur"), names)] == ["communes"]
    assert [s.layer.name for s in map_extract.served_layers(user("responsable.spanc"), names)] \
        == ["communes", "installations_anc"]
    assert map_extract.detail_map(user("responsable.spanc"), installation) is None  # no parcels
    settings.SPANC_REPORT_DETAIL_LAYERS = ["installations_anc"]
    detail = map_extract.detail_map(user("responsable.spanc"), installation)
    assert [layer.name for layer in detail.layers] == ["communes", "installations_anc"]
    assert round(detail.scale) == 5000


def test_an_unreadable_photo_does_not_stop_the_report(db):
    control = manager_data.control(make_installation(GUERANDE), visit_date=VISIT)
    manager_data.stored_photo(control, b"\xff\xd8 not really a jpeg", "Photo abîmée")
    response = client_for("responsable.spanc").get(report_url(control))
    assert response.status_code == 200
    flat = " ".join(pdf_text(response.content)[0].split())
    assert "Photo indisponible" in flat and "Photo abîmée" in flat
