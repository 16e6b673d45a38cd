"""Layers a domain application maintains (the field sync's SPANC layers, the signalements'):
a protocol write would be overwritten by the application's next publication, so WFS-T and
OGC API – Features Part 4 refuse it for everyone, the GIS administrator included, with a
message naming where the data is edited; nothing is written (layers.features.maintained)."""
import json

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from fieldsync.publication import LAYERS as FIELD_LAYERS
from layers.access import AccessPolicy
from layers.features import MaintainedLayer
from layers.models import Permission
from signalements.publication import LAYERS as REPORT_LAYERS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def published(db):
    """The SPANC and signalements demos, as load_demo's commands publish them."""
    from fieldsync.demo import load_spanc_demo
    from signalements.demo import load_signalements_demo

    load_spanc_demo()
    load_signalements_demo()

NS = ('xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
      'xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')


def first_fid(name):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT min(fid), count(*) FROM layers_data."{name}"')
        return cursor.fetchone()


def admin_client():
    client = Client()
    client.force_login(User.objects.get(username="admin.sig"))
    return client


def test_every_domain_layer_is_declared():
    from layers.features.maintained import maintainer

    assert set(FIELD_LAYERS) == {"spanc_installations", "spanc_controles"}
    for name in [*FIELD_LAYERS, *REPORT_LAYERS]:
        assert maintainer(name) is not None, name


@pytest.mark.parametrize("name", ["spanc_installations", "signalements"])
def test_the_feature_source_refuses_protocol_writes_even_to_the_administrator(name):
    source = AccessPolicy.for_user(User.objects.get(username="admin.sig")).source(
        name, Permission.EDIT)
    fid, count = first_fid(name)
    assert count > 0  # the demo published some
    with pytest.raises(MaintainedLayer) as refused:
        source.delete([fid])
    assert name in refused.value.reason
    with pytest.raises(MaintainedLayer):
        source.update([fid], {}, None, set_geometry=True)
    with pytest.raises(MaintainedLayer):
        source.insert({})
    assert first_fid(name) == (fid, count)


def test_wfs_t_refuses_an_update_of_spanc_installations_with_a_clear_report():
    fid, count = first_fid("spanc_installations")
    with connection.cursor() as cursor:
        cursor.execute('SELECT adresse FROM layers_data.spanc_installations WHERE fid = %s', [fid])
        (address,) = cursor.fetchone()
    document = (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" '
                f'version="1.1.0" {NS}><wfs:Update typeName="capgeo:spanc_installations">'
                f'<wfs:Property><wfs:Name>adresse</wfs:Name><wfs:Value>Ailleurs</wfs:Value>'
                f'</wfs:Property><ogc:Filter><ogc:FeatureId fid="spanc_installations.{fid}"/>'
                f'</ogc:Filter></wfs:Update></wfs:Transaction>')
    response = admin_client().post("/ows", data=document, content_type="text/xml")
    assert response.status_code in (400, 403), response.content
    body = response.content.decode()
    assert "PermissionDenied" in body and "fiches SPANC" in body, body
    with connection.cursor() as cursor:
        cursor.execute('SELECT adresse FROM layers_data.spanc_installations WHERE fid = %s', [fid])
        assert cursor.fetchone() == (address,)


def test_ogc_api_refuses_a_delete_of_a_report_in_json():
    fid, count = first_fid("signalements")
    client = admin_client()
    response = client.delete(f"/ogc/collections/signalements/items/{fid}")
    assert response.status_code == 403, response.content
    assert "signalements" in response.json()["detail"]
    assert first_fid("signalements") == (fid, count)
