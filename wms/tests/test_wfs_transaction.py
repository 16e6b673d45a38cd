"""WFS-T as QGIS sends it (WFS 1.1.0 document, GML 3.1.1, ogc:FeatureId), and as WFS 2.0."""
import xml.etree.ElementTree as ET

import pytest

from layers.models import FeatureChange, Publication
from layers.testing import GUERANDE, LA_BAULE, build_access_scenario

from .wfs_support import basic, query

pytestmark = pytest.mark.django_db

NS = 'xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" ' \
     'xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"'
LAYER = "acces_spanc"


def transaction_11(body):
    return (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" '
            f'version="1.1.0" {NS}>{body}</wfs:Transaction>')


def insert_11(nom, x, y, srs="urn:ogc:def:crs:EPSG::2154", layer=LAYER):
    return (f'<wfs:Insert><capgeo:{layer}><capgeo:code_insee>{GUERANDE}</capgeo:code_insee>'
            f'<capgeo:nom>{nom}</capgeo:nom><capgeo:geom><gml:Point srsName="{srs}">'
            f'<gml:pos srsDimension="2">{x} {y}</gml:pos></gml:Point></capgeo:geom>'
            f'</capgeo:{layer}></wfs:Insert>')


def update_11(fid, name, value, layer=LAYER):
    return (f'<wfs:Update typeName="capgeo:{layer}"><wfs:Property><wfs:Name>{name}</wfs:Name>'
            f'<wfs:Value>{value}</wfs:Value></wfs:Property><ogc:Filter>'
            f'<ogc:FeatureId fid="{layer}.{fid}"/></ogc:Filter></wfs:Update>')


def delete_11(fid, layer=LAYER):
    return (f'<wfs:Delete typeName="capgeo:{layer}"><ogc:Filter><ogc:FeatureId fid="{layer}.{fid}"/>'
            f'</ogc:Filter></wfs:Delete>')


def post(client, document, username="controleur.spanc", password="demo-capgeo"):
    headers = {"Authorization": basic(username, password)} if username else {}
    return client.post("/ows", data=document, content_type="text/xml", headers=headers)


def rows(layer=LAYER):
    return query(f'SELECT fid, code_insee, nom, ST_X(geom), ST_Y(geom) FROM layers_data."{layer}" '
                 "ORDER BY fid")


@pytest.fixture
def scenario():
    return build_access_scenario()


def summary(response):
    root = ET.fromstring(response.content)
    wfs = "{http://www.opengis.net/wfs}"
    totals = {tag: int(root.find(f"{wfs}TransactionSummary/{wfs}{tag}").text)
              for tag in ("totalInserted", "totalUpdated", "totalDeleted")}
    fids = [e.get("fid") for e in root.iter("{http://www.opengis.net/ogc}FeatureId")]
    return totals, fids


def test_qgis_insert_update_delete_as_editor(client, scenario):
    before = rows()
    insert = post(client, transaction_11(insert_11("Nouvelle installation", 290500.25, 6706010.5)))
    assert insert.status_code == 200, insert.content
    totals, fids = summary(insert)
    assert totals == {"totalInserted": 1, "totalUpdated": 0, "totalDeleted": 0}
    new_fid = int(fids[0].split(".")[1])
    assert fids[0] == f"{LAYER}.{new_fid}"
    assert rows()[-1] == (new_fid, GUERANDE, "Nouvelle installation", 290500.25, 6706010.5)

    first = before[0][0]
    update = post(client, transaction_11(update_11(first, "nom", "Mairie (modifiée)")
                                         + delete_11(new_fid)))
    assert update.status_code == 200, update.content
    assert summary(update)[0] == {"totalInserted": 0, "totalUpdated": 1, "totalDeleted": 1}
    after = rows()
    assert [r[0] for r in after] == [r[0] for r in before]
    assert after[0][2] == "Mairie (modifiée)"

    changes = list(FeatureChange.objects.filter(layer=scenario[LAYER]).order_by("id"))
    assert [(c.fid, c.action) for c in changes] == [
        (new_fid, "insert"), (first, "update"), (new_fid, "delete")]
    assert all(c.changed_by.username == "controleur.spanc" and c.source == "wfs-t" for c in changes)
    assert changes[0].new_values["nom"] == "Nouvelle installation"
    assert changes[0].new_values["geom"]["coordinates"] == [290500.25, 6706010.5]
    assert changes[1].old_values["nom"] == before[0][2]
    assert changes[1].new_values["nom"] == "Mairie (modifiée)"
    assert changes[2].old_values["nom"] == "Nouvelle installation" and changes[2].new_values is None
    publications = Publication.objects.filter(layer=scenario[LAYER], mode=Publication.Mode.EDIT)
    assert publications.count() == 2
    assert {c.publication_id for c in changes} == set(publications.values_list("pk", flat=True))
    scenario[LAYER].refresh_from_db()
    assert scenario[LAYER].feature_count == 2


def test_geometry_in_wgs84_lat_lon_is_reprojected(client, scenario):
    response = post(client, transaction_11(insert_11("GPS", 47.3277, -2.4264,
                                                     srs="urn:ogc:def:crs:EPSG::4326")))
    assert response.status_code == 200, response.content
    x, y = rows()[-1][3:]
    expected = query("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(-2.4264, "
                     "47.3277), 4326), 2154) p")[0]
    assert abs(x - expected[0]) < 0.01 and abs(y - expected[1]) < 0.01


def test_transaction_2_0_with_resource_id(client, scenario):
    fid = rows()[0][0]
    document = (
        '<wfs:Transaction service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:fes="http://www.opengis.net/fes/2.0"><wfs:Update typeName="capgeo:acces_spanc">'
        '<wfs:Property><wfs:ValueReference>nom</wfs:ValueReference><wfs:Value>Renommée</wfs:Value>'
        f'</wfs:Property><fes:Filter><fes:ResourceId rid="{LAYER}.{fid}"/></fes:Filter></wfs:Update>'
        "</wfs:Transaction>")
    response = post(client, document)
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.opengis.net/wfs/2.0}TransactionResponse"
    assert root.find(".//{http://www.opengis.net/wfs/2.0}totalUpdated").text == "1"
    assert rows()[0][2] == "Renommée"


@pytest.mark.parametrize("username, status", [
    ("agent.guerande", 400),   # does not even see the layer: unknown type, nothing leaks
    (None, 400),               # anonymous: same
])
def test_viewer_and_anonymous_are_refused_and_nothing_changes(client, scenario, username, status):
    before = rows()
    fid = before[0][0]
    response = post(client, transaction_11(insert_11("Intrus", 290000, 6706000)
                                           + update_11(fid, "nom", "Piraté") + delete_11(fid)),
                    username=username)
    assert response.status_code == status
    assert b"ExceptionReport" in response.content and b'locator="' in response.content
    assert rows() == before
    assert not FeatureChange.objects.exists()


def test_user_who_may_view_but_not_edit_gets_403(client, scenario):
    before = rows("acces_public")
    response = post(client, transaction_11(delete_11(before[0][0], layer="acces_public")),
                    username="agent.guerande")
    assert response.status_code == 403
    assert b'exceptionCode="PermissionDenied"' in response.content
    assert rows("acces_public") == before


def test_capabilities_list_transaction_only_for_editors(client, scenario):
    anonymous = client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities").content
    editor = client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities",
                        headers={"Authorization": basic("controleur.spanc")}).content
    assert b'<ows:Operation name="Transaction">' not in anonymous
    assert b'<ows:Operation name="Transaction">' in editor
    assert b'name="ImplementsTransactionalWFS"><ows:NoValues/><ows:DefaultValue>TRUE' in editor


@pytest.mark.parametrize("body, code, locator", [
    (update_11(1, "nom_inconnu", "x"), "InvalidParameterValue", "nom_inconnu"),
    (update_11(99999, "nom", "x"), "InvalidParameterValue", "Update"),
    (insert_11("x", "abc", "def"), "InvalidParameterValue", "geom"),
    (insert_11("x", 1, 2, srs="EPSG:999999"), "InvalidParameterValue", "srsName"),
    ('<wfs:Replace/>', "OperationNotSupported", "Replace"),
])
def test_bad_edits_are_ogc_exceptions_and_change_nothing(client, scenario, body, code, locator):
    before = rows()
    # A valid insert first: the whole document must be rolled back.
    response = post(client, transaction_11(insert_11("Valide", 290000, 6706000) + body))
    assert response.status_code == 400, response.content
    assert f'exceptionCode="{code}"'.encode() in response.content
    assert f'locator="{locator}"'.encode() in response.content
    assert rows() == before
    assert not FeatureChange.objects.exists() and not Publication.objects.filter(mode="edit").exists()


def test_invalid_geometry_and_bad_type_are_named(client):
    from layers.models import Audience, Permission
    from layers.testing import make_vector_layer
    make_vector_layer("wfs_zones", "POLYGON", [("niveau", "integer")], [],
                      [{"audience": Audience.AUTHENTICATED, "permission": Permission.EDIT}])
    bowtie = ('<wfs:Insert><capgeo:wfs_zones><capgeo:geom><gml:Polygon><gml:exterior><gml:LinearRing>'
              '<gml:posList>0 0 10 10 10 0 0 10 0 0</gml:posList></gml:LinearRing></gml:exterior>'
              '</gml:Polygon></capgeo:geom></capgeo:wfs_zones></wfs:Insert>')
    response = post(client, transaction_11(bowtie), username="lecteur")
    assert response.status_code == 400 and "Géométrie invalide".encode() in response.content
    typed = ('<wfs:Insert><capgeo:wfs_zones><capgeo:niveau>douze</capgeo:niveau></capgeo:wfs_zones>'
             '</wfs:Insert>')
    response = post(client, transaction_11(typed), username="lecteur")
    assert response.status_code == 400 and b'locator="niveau"' in response.content
    assert "« niveau »".encode() in response.content


def test_restricted_editor_cannot_touch_or_move_rows_outside_his_commune(client):
    from layers.models import Audience, Permission, RowRestriction
    from layers.testing import make_vector_layer
    halls = query("SELECT c.insee, ST_AsText(h.location) FROM territory_townhall h JOIN "
                  "territory_commune c ON c.id = h.commune_id WHERE c.insee IN (%s, %s) ORDER BY 1",
                  [LA_BAULE, GUERANDE])
    layer = make_vector_layer(
        "wfs_restreinte", "POINT", [("code_insee", "varchar(5)"), ("nom", "text")],
        [{"code_insee": insee, "nom": insee, "geom": wkt} for insee, wkt in halls],
        [{"audience": Audience.AUTHENTICATED, "permission": Permission.EDIT,
          "row_restriction": RowRestriction.COMMUNE_TERRITORY}])
    fids = dict((r[1], r[0]) for r in rows(layer.name))
    before = rows(layer.name)
    other = post(client, transaction_11(delete_11(fids[LA_BAULE], layer=layer.name)),
                 username="agent.guerande")
    assert other.status_code == 403
    la_baule_point = query("SELECT ST_X(location), ST_Y(location) FROM territory_townhall h JOIN "
                           "territory_commune c ON c.id = h.commune_id WHERE c.insee = %s",
                           [LA_BAULE])[0]
    move = ('<wfs:Update typeName="capgeo:wfs_restreinte"><wfs:Property><wfs:Name>geom</wfs:Name>'
            f'<wfs:Value><gml:Point srsName="EPSG:2154"><gml:pos>{la_baule_point[0]} '
            f'{la_baule_point[1]}</gml:pos></gml:Point></wfs:Value></wfs:Property><ogc:Filter>'
            f'<ogc:FeatureId fid="wfs_restreinte.{fids[GUERANDE]}"/></ogc:Filter></wfs:Update>')
    moved = post(client, transaction_11(move), username="agent.guerande")
    assert moved.status_code == 403
    assert rows(layer.name) == before
    own = post(client, transaction_11(update_11(fids[GUERANDE], "nom", "ok", layer=layer.name)),
               username="agent.guerande")
    assert own.status_code == 200
