"""/api/remote-services/: registration and publication by GIS administrators only."""
from accounts.models import User
from layers.models import Layer, RemoteService

from .remote_support import allow_local, closed_port, live_demo, remote  # noqa: F401


def test_administrator_registers_and_publishes(client, remote):
    client.force_login(User.objects.get(username="admin.sig"))
    response = client.post("/api/remote-services/", {"url": remote + "/ows", "protocol": "wms"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["protocol"] == "wms" and body["version"] == "1.3.0"
    communes = next(layer for layer in body["layers"] if layer["identifier"] == "communes")
    assert communes == {"identifier": "communes", "title": "Communes de Cap Atlantique",
                        "absent": False, "published_as": None}
    response = client.post(f"/api/remote-services/{body['id']}/publish",
                           {"layers": ["communes"], "usage": "basemap", "audience": "public",
                            "theme": "administratif"}, content_type="application/json")
    assert response.status_code == 201, response.content
    published = next(layer for layer in response.json()["layers"]
                     if layer["identifier"] == "communes")["published_as"]
    layer = Layer.objects.get(name=published)
    assert layer.kind == "remote" and layer.usage == "basemap" and layer.theme.slug == "administratif"
    # The catalogue API shows it like any layer.
    assert client.get(f"/api/layers/{published}/").json()["kind"] == "remote"
    listing = client.get("/api/remote-services/").json()
    assert [s["id"] for s in listing] == [body["id"]]
    bad = client.post(f"/api/remote-services/{body['id']}/publish", {"layers": ["nope"]},
                      content_type="application/json")
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]


def test_unusable_service_is_a_400_in_french(client, allow_local, db):
    client.force_login(User.objects.get(username="admin.sig"))
    response = client.post("/api/remote-services/",
                           {"url": f"http://127.0.0.1:{closed_port()}/wms", "protocol": "wms"},
                           content_type="application/json")
    assert response.status_code == 400
    assert "Serveur injoignable" in response.json()["detail"]
    response = client.post("/api/remote-services/", {"url": "ftp://x.org/", "protocol": "wms"},
                           content_type="application/json")
    assert response.status_code == 400
    response = client.post("/api/remote-services/", {"url": "https://x.org/", "protocol": "wcs"},
                           content_type="application/json")
    assert response.status_code == 400 and "protocol" in response.json()
    assert not RemoteService.objects.exists()


def test_only_administrators(client, db):
    assert client.get("/api/remote-services/").status_code in (401, 403)
    assert client.post("/api/remote-services/", {"url": "https://x.org/", "protocol": "wms"},
                       content_type="application/json").status_code in (401, 403)
    client.force_login(User.objects.get(username="agent.guerande"))
    assert client.get("/api/remote-services/").status_code == 403
    assert client.post("/api/remote-services/1/publish", {"layers": ["a"]},
                       content_type="application/json").status_code == 403
