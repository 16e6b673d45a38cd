"""Open311 GeoReport v2 with a client written from the spec, over real HTTP, in JSON and XML."""
import pytest

from signalements.models import Open311Client, Report, Source

from .open311_client import GeoReportClient, Open311Error
from .support import GUERANDE, OFFSHORE, metadata_of, photo_with_gps


@pytest.fixture
def open311(committed_demo, live_server, settings):
    from signalements.demo import load_signalements_demo

    load_signalements_demo()
    settings.CAPGEO_PUBLIC_URL = live_server.url
    _, key = Open311Client.issue("Application « Ma ville »")
    return f"{live_server.url}/open311/v2/", key


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_create_list_get_token(open311, fmt):
    endpoint, key = open311
    client = GeoReportClient(endpoint, fmt=fmt, api_key=key)
    anonymous = GeoReportClient(endpoint, fmt=fmt)

    discovery = client.discovery()
    assert discovery["endpoints"]
    services = {s["service_code"]: s for s in client.services()}
    assert {"nid-de-poule", "eclairage", "depot-sauvage"} <= set(services)
    assert "voirie" not in services  # a parent category is not a service
    assert services["nid-de-poule"]["group"] == "Voirie"
    assert str(services["nid-de-poule"]["metadata"]).lower() == "true"

    definition = client.service_definition("nid-de-poule")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert attributes["taille"]["datatype"] == "singlevaluelist"
    assert str(attributes["taille"]["required"]).lower() == "true"
    assert {v["key"] for v in attributes["taille"]["values"]} == {"petit", "moyen", "grand"}

    created = client.create("nid-de-poule", lat=GUERANDE[1], long=GUERANDE[0],
                            attributes={"taille": "grand"}, email="appli@exemple.test",
                            first_name="Anne", last_name="Appli", device_id="tel-42",
                            description=f"Trou signalé par l'application ({fmt})",
                            media=[photo_with_gps((800, 600))])
    request_id = created[0]["service_request_id"]
    assert "Guérande" in created[0]["service_notice"]
    report = Report.objects.get(pk=int(request_id))
    assert report.source == Source.OPEN311 and report.contact_email == "appli@exemple.test"
    assert metadata_of(bytes(report.photos.get().data))["gps"] == {}

    detail = client.request(request_id)[0]
    assert detail["status"] == "open" and detail["service_code"] == "nid-de-poule"
    assert detail["agency_responsible"] == "Guérande — services techniques"
    assert abs(float(detail["lat"]) - GUERANDE[1]) < 1e-5
    assert detail["description"].startswith("Trou signalé")
    assert detail["media_url"].startswith(endpoint.split("/open311")[0] + "/signalements/photo/")
    assert client.token(request_id)[0]["service_request_id"] == request_id

    listed = {r["service_request_id"]: r for r in client.requests(service_code="nid-de-poule",
                                                                  status="open")}
    assert request_id in listed
    # Without an api_key: the same list, without descriptions nor any contact.
    public = {r["service_request_id"]: r for r in anonymous.requests()}
    assert request_id in public and not public[request_id].get("description")
    assert "appli@exemple.test" not in str(public)
    assert "Anne" not in str(public)
    rejected = Report.objects.filter(status="rejete").first()
    assert str(rejected.pk) not in public


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_in_the_specs_format(open311, fmt):
    endpoint, key = open311
    client = GeoReportClient(endpoint, fmt=fmt, api_key=key)
    before = Report.objects.count()
    cases = [
        (dict(service_code="inconnu", lat=GUERANDE[1], long=GUERANDE[0], description="x"),
         400, "service_code"),
        (dict(service_code="nid-de-poule", lat="NaN", long=GUERANDE[0], description="x",
              attributes={"taille": "petit"}), 400, "lat"),
        (dict(service_code="nid-de-poule", lat=OFFSHORE[1], long=OFFSHORE[0], description="x",
              attributes={"taille": "petit"}), 400, "territoire"),
        (dict(service_code="nid-de-poule", lat=GUERANDE[1], long=GUERANDE[0],
              description="x" * 4001, attributes={"taille": "petit"}), 400, "4000"),
        (dict(service_code="nid-de-poule", lat=GUERANDE[1], long=GUERANDE[0],
              description="x"), 400, "taille"),
        (dict(service_code="nid-de-poule", description="x"), 400, "lat"),
    ]
    for fields, status, word in cases:
        with pytest.raises(Open311Error) as error:
            client.create(**fields)
        assert error.value.status == status, fields
        assert error.value.errors[0]["code"] == status
        assert word in error.value.errors[0]["description"], error.value.errors
    with pytest.raises(Open311Error) as error:
        GeoReportClient(endpoint, fmt=fmt, api_key="faux").create(
            "nid-de-poule", lat=GUERANDE[1], long=GUERANDE[0], description="x")
    assert error.value.status == 403
    with pytest.raises(Open311Error) as error:
        GeoReportClient(endpoint, fmt=fmt).create("nid-de-poule", lat=GUERANDE[1],
                                                  long=GUERANDE[0], description="x")
    assert error.value.status == 403
    for call in (lambda: client.service_definition("inconnu"), lambda: client.request("999999"),
                 lambda: client.request("abc"), lambda: client.token("999999")):
        with pytest.raises(Open311Error) as error:
            call()
        assert error.value.status == 404 and error.value.errors[0]["description"]
    with pytest.raises(Open311Error) as error:
        client.requests(start_date="hier")
    assert error.value.status == 400
    with pytest.raises(Open311Error) as error:
        GeoReportClient(endpoint, fmt=fmt, jurisdiction_id="ailleurs").services()
    assert error.value.status == 404
    assert Report.objects.count() == before


def test_the_same_submission_twice_is_refused(open311):
    endpoint, key = open311
    client = GeoReportClient(endpoint, api_key=key)
    fields = dict(lat=GUERANDE[1], long=GUERANDE[0], attributes={"taille": "moyen"},
                  description="Trou devant la poste", device_id="tel-7")
    first = client.create("nid-de-poule", **fields)[0]["service_request_id"]
    with pytest.raises(Open311Error) as error:
        client.create("nid-de-poule", **fields)
    assert error.value.status == 400 and first in error.value.errors[0]["description"]
    assert Report.objects.filter(description="Trou devant la poste").count() == 1


def test_english_errors(open311):
    endpoint, key = open311
    client = GeoReportClient(endpoint, api_key=key)
    client.http.headers["Accept-Language"] = "en"
    with pytest.raises(Open311Error) as error:
        client.service_definition("unknown")
    assert error.value.errors[0]["description"].startswith("Unknown service_code")
