"""WFS answers: private to who asks (like the REST API's), and pages of exactly COUNT values."""
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from accounts.models import User

from .wfs_support import PARCELS, basic, make_parcels

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    make_parcels()


def as_user(username=None):
    client = Client()
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def streamed(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_wfs_answers_are_private(scenario):
    for client, headers in ((as_user(), {}), (as_user("agent.guerande"), {}),
                            (Client(), {"Authorization": basic("agent.guerande")})):
        for url in (f"/ows?SERVICE=WFS&REQUEST=GetFeature&VERSION=2.0.0&TYPENAMES={PARCELS}&COUNT=2",
                    f"/ows?SERVICE=WFS&REQUEST=GetFeature&VERSION=1.1.0&TYPENAME={PARCELS}"
                    "&MAXFEATURES=2",
                    f"/ows?SERVICE=WFS&REQUEST=DescribeFeatureType&TYPENAMES={PARCELS}",
                    f"/ows?SERVICE=WFS&REQUEST=GetPropertyValue&TYPENAMES={PARCELS}"
                    "&VALUEREFERENCE=nom&COUNT=2",
                    "/ows?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=inconnue"):
            response = client.get(url, headers=headers)
            assert "private" in response["Cache-Control"], (url, response["Cache-Control"])
            assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.parametrize("count", [1, 3, 10])
def test_get_property_value_returns_count_values(scenario, count):
    response = as_user().get(f"/ows?SERVICE=WFS&REQUEST=GetPropertyValue&VERSION=2.0.0"
                             f"&TYPENAMES={PARCELS}&VALUEREFERENCE=nom&COUNT={count}&STARTINDEX=4")
    root = ET.fromstring(streamed(response))
    members = root.findall("{http://www.opengis.net/wfs/2.0}member")
    assert len(members) == count and root.get("numberReturned") == str(count)
    values = [m[0].text for m in members]
    assert values == [f"Parcelle n°{n}" + (" l'îlot \"A\"" if n % 7 == 0 else "")
                      for n in range(5, 5 + count)]


def test_generic_renderers_return_count_features(scenario):
    csv = streamed(as_user().get(f"/ows?SERVICE=WFS&REQUEST=GetFeature&VERSION=2.0.0"
                                 f"&TYPENAMES={PARCELS}&COUNT=3&OUTPUTFORMAT=text/csv"))
    assert len(csv.decode().strip().splitlines()) == 1 + 3


@pytest.mark.parametrize("query, marker", [
    ("VERSION=2.0.0&TYPENAMES={t}&COUNT=3", b"<wfs:member>"),
    ("VERSION=2.0.0&TYPENAMES={t}&COUNT=3&OUTPUTFORMAT=application/json", b'"type":"Feature"'),
    ("VERSION=1.1.0&TYPENAME={t}&MAXFEATURES=3", b"<gml:featureMember>"),
    ("VERSION=1.1.0&TYPENAME={t}&MAXFEATURES=3&OUTPUTFORMAT=application/json",
     b'"type":"Feature"'),
])
def test_every_output_returns_count_features(scenario, query, marker):
    url = "/ows?SERVICE=WFS&REQUEST=GetFeature&" + query.format(t=PARCELS)
    body = streamed(as_user().get(url)).replace(b'"type": "Feature"', b'"type":"Feature"')
    assert body.count(marker) == 3, body[:500]
