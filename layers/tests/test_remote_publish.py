"""Remote layers into the catalogue: publication, refresh keeping the catalogue settings, the
French admin workflow and the register_remote_service command (the platform is the remote)."""
import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from territory.models import Commune
from layers.models import AccessRule, Audience, Layer, RemoteLayer, RemoteService, Theme
from layers.remote.publish import publish, refresh_service, register_service, suggested_name

from .remote_support import allow_local, closed_port, live_demo, remote  # noqa: F401


def territory_extent():
    from django.contrib.gis.db.models import Extent

    return Commune.objects.aggregate(e=Extent("geom"))["e"]


def test_publish_copies_the_metadata(remote):
    service, created = register_service(remote + "/ows", "wms")
    assert {"communes", "mairies"} <= set(created)
    assert service.title.startswith("C@p Géo") and service.version == "1.3.0"
    assert service.capabilities_checked_at is not None
    theme = Theme.objects.order_by("order").first()
    layer = publish(service.layers.get(identifier="communes"), usage=Layer.Usage.BASEMAP,
                    theme=theme)
    assert layer.name == "communes_2"  # "communes" is taken by the local layer
    assert layer.kind == Layer.Kind.REMOTE and layer.usage == Layer.Usage.BASEMAP
    assert layer.theme == theme
    assert layer.title == "Communes de Cap Atlantique"
    assert "15 communes" in layer.abstract
    assert "INSEE" in layer.keywords
    assert layer.attribution
    assert layer.queryable is True
    assert remote in layer.lineage
    # The WGS 84 box of the capabilities, back in Lambert-93: around the territory.
    minx, miny, maxx, maxy = layer.extent.extent
    tminx, tminy, tmaxx, tmaxy = territory_extent()
    assert minx <= tminx + 1 and miny <= tminy + 1 and maxx >= tmaxx - 1 and maxy >= tmaxy - 1
    assert maxx - minx < (tmaxx - tminx) * 1.2
    # No rule yet: administrators only.
    assert not layer.access_rules.exists()
    # Publishing again returns the same layer.
    assert publish(service.layers.get(identifier="communes")).pk == layer.pk
    public = publish(service.layers.get(identifier="mairies"), name="mairies_distantes",
                     audience="public")
    assert list(public.access_rules.values_list("audience", flat=True)) == [Audience.PUBLIC]


def test_suggested_names_are_valid_and_free(db):
    assert suggested_name("ORTHOIMAGERY.ORTHOPHOTOS") == "orthoimagery_orthophotos"
    assert suggested_name("capgeo:communes") == "capgeo_communes"
    assert suggested_name("2021 Plan cadastral éé") == "plan_cadastral_ee"
    assert suggested_name("***") == "distante"
    assert len(suggested_name("x" * 300)) <= 48


def test_refresh_updates_metadata_and_keeps_catalogue_settings(remote):
    service, _created = register_service(remote + "/ows", "wms")
    layer = publish(service.layers.get(identifier="communes"), name="communes_distantes",
                    audience="public")
    mairies = publish(service.layers.get(identifier="mairies"), name="mairies_distantes")
    # Catalogue settings changed by an administrator.
    theme = Theme.objects.order_by("-order").first()
    layer.title = "Communes (IGN, via C@p Géo)"
    layer.theme, layer.usage = theme, Layer.Usage.BASEMAP
    layer.save()
    # The remote service changes: new abstract, the town halls are no longer public.
    Layer.objects.filter(name="communes").update(abstract="Limites communales, version 2026.")
    AccessRule.objects.filter(layer__name="mairies").delete()
    created, updated, absent = refresh_service(service)
    assert "communes" in updated and absent == ["mairies"]
    # (the platform now also advertises its own public remote layer: a new one for the service)
    assert created == ["communes_distantes"]
    layer.refresh_from_db()
    assert layer.abstract == "Limites communales, version 2026."  # copied again
    assert layer.title == "Communes (IGN, via C@p Géo)"  # edited here: kept
    assert layer.theme == theme and layer.usage == Layer.Usage.BASEMAP
    assert list(layer.access_rules.values_list("audience", flat=True)) == [Audience.PUBLIC]
    # A layer gone from the capabilities stays in the catalogue, marked.
    mairies.refresh_from_db()
    assert mairies.remote_layer.metadata["absent"] is True
    # Another refresh: the title edited locally is still kept.
    refresh_service(service)
    layer.refresh_from_db()
    assert layer.title == "Communes (IGN, via C@p Géo)"


def test_registering_twice_refreshes(remote):
    first, _ = register_service(remote + "/ows?SERVICE=WMS", "wms", title="Mon WMS")
    second, created = register_service(remote + "/ows", "wms")
    assert first.pk == second.pk and created == []
    assert RemoteService.objects.count() == 1
    assert second.title == "Mon WMS"


# --- admin ------------------------------------------------------------------------------------
@pytest.fixture
def admin_user_client(client, live_demo):
    user = User.objects.create_superuser("admin.distant", "admin@example.org", "x")
    client.force_login(user)
    return client


ADD_URL = "/admin/layers/remoteservice/add/"


def test_admin_add_reads_capabilities_then_publishes(admin_user_client, remote):
    client = admin_user_client
    page = client.get(ADD_URL)
    assert page.status_code == 200 and "Protocole" in page.content.decode()
    response = client.post(ADD_URL, {"url": remote + "/ows", "protocol": "wms", "title": ""})
    service = RemoteService.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/layers/remoteservice/{service.pk}/publier/"
    assert service.layers.filter(identifier="communes").exists()
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "Couches à publier" in body and "Communes de Cap Atlantique (communes)" in body
    communes = service.layers.get(identifier="communes")
    theme = Theme.objects.order_by("order").first()
    response = client.post(page.request["PATH_INFO"], {
        "layers": [communes.pk], "usage": "basemap", "theme": theme.pk, "audience": "public"})
    assert response.status_code == 302
    layer = Layer.objects.get(remote_layer=communes)
    assert layer.usage == "basemap" and layer.theme == theme
    assert layer.access_rules.get().audience == Audience.PUBLIC
    # The published layer is no longer offered, and shown as published.
    body = client.get(page.request["PATH_INFO"]).content.decode()
    assert f'name="layers" value="{communes.pk}"' not in body and layer.name in body
    # The change page and the refresh action.
    assert client.get(f"/admin/layers/remoteservice/{service.pk}/change/").status_code == 200
    response = client.post("/admin/layers/remoteservice/", {
        "action": "refresh_capabilities", "_selected_action": [service.pk]}, follow=True)
    assert "mise(s) à jour" in response.content.decode()


@pytest.mark.parametrize("case", ["closed", "private", "duplicate", "wrong_protocol"])
def test_admin_add_errors_are_shown_and_nothing_is_saved(admin_user_client, remote, settings,
                                                         case):
    client = admin_user_client
    url, protocol, message = remote + "/ows", "wms", ""
    if case == "closed":
        url, message = f"http://127.0.0.1:{closed_port()}/wms", "Serveur injoignable"
    elif case == "private":
        settings.CAPGEO_REMOTE_ALLOWED_HOSTS = []
        message = "Adresse refusée"
    elif case == "duplicate":
        register_service(remote + "/ows", "wms")
        message = "déjà enregistré"
    else:
        url, message = remote + "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", "pas WMS"
    before = RemoteService.objects.count()
    response = client.post(ADD_URL, {"url": url, "protocol": protocol, "title": ""})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert RemoteService.objects.count() == before
    assert RemoteLayer.objects.count() == (0 if case != "duplicate" else
                                           RemoteLayer.objects.count())


def test_publish_page_needs_an_administrator(client, remote):
    service, _ = register_service(remote + "/ows", "wms")
    client.force_login(User.objects.get(username="agent.guerande"))
    response = client.get(f"/admin/layers/remoteservice/{service.pk}/publier/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- command ----------------------------------------------------------------------------------
def test_command_registers_and_publishes(remote, capsys):
    call_command("register_remote_service", remote + "/ows", protocol="wms", layers=["communes"],
                 usage="basemap", audience="public")
    out = capsys.readouterr().out
    assert "couche(s)" in out and "communes →" in out
    layer = Layer.objects.get(remote_layer__identifier="communes")
    assert layer.usage == "basemap" and layer.kind == "remote"
    call_command("register_remote_service", remote + "/ows", protocol="wms")
    assert "mairies — Mairies" in capsys.readouterr().out
    with pytest.raises(CommandError, match="absente"):
        call_command("register_remote_service", remote + "/ows", protocol="wms",
                     layers=["inconnue"])
    with pytest.raises(CommandError, match="Thème inconnu"):
        call_command("register_remote_service", remote + "/ows", protocol="wms", theme="nope")


def test_command_reports_unreachable_service(allow_local, db):
    with pytest.raises(CommandError, match="Serveur injoignable"):
        call_command("register_remote_service", f"http://127.0.0.1:{closed_port()}/wms",
                     protocol="wms")
    assert not RemoteService.objects.exists()
