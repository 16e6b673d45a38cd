import pytest
from django.test import Client
from capgeo.accounts.models import User
pytestmark = pytest.mark.django_db
HUGE = "1" + "0" * 30
T = """<?xml version="1.0"?><wfs:Transaction service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs" xmlns:fes="http://www.opengis.net/fes/2.0">
<wfs:Update typeName="capgeo:communes"><wfs:Property><wfs:ValueReference>population</wfs:ValueReference><wfs:Value>{v}</wfs:Value></wfs:Property>
<fes:Filter><fes:ResourceId rid="communes.1"/></fes:Filter></wfs:Update></wfs:Transaction>"""
I = """<?xml version="1.0"?><wfs:Transaction service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs">
<wfs:Insert><capgeo:communes><capgeo:insee>99999</capgeo:insee><capgeo:population>{v}</capgeo:population><capgeo:geom><gml:MultiPolygon srsName="urn:ogc:def:crs:EPSG::2154"><gml:polygonMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>0 0 1 0 1 1 0 0</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:polygonMember></gml:MultiPolygon></capgeo:geom></capgeo:communes></wfs:Insert></wfs:Transaction>"""
URLS = ["/api/remote-services/%s/publish" % HUGE, "/catalogue/publier/imports/%s.json" % HUGE, "/catalogue/publier/imports/%s/" % HUGE,
        "/spanc/campagnes/%s/" % HUGE, "/compte/jetons/%s/revoquer/" % HUGE, "/catalogue/publier/publications/%s/restaurer/" % HUGE,
        "/admin/layers/style/%s/sld/" % HUGE, "/admin/layers/layer/%s/change/" % HUGE, "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&RESOURCEID=communes.%s" % HUGE,
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&STARTINDEX=%s" % HUGE,
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&COUNT=%s" % HUGE,
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&FILTER=<Filter><PropertyIsEqualTo><ValueReference>population</ValueReference><Literal>%s</Literal></PropertyIsEqualTo></Filter>" % HUGE,
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&FILTER=<Filter><PropertyIsEqualTo><ValueReference>population</ValueReference><Literal>NaN</Literal></PropertyIsEqualTo></Filter>",
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&SORTBY=population%00",
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetPropertyValue&TYPENAMES=communes&VALUEREFERENCE=population&COUNT=" + HUGE,
        "/api/layers/communes/features?population=" + HUGE,
        "/api/layers/communes/features?population=NaN",
        "/api/sync/photos/%s/" % ("a"*64),
        ]
@pytest.mark.parametrize("url", URLS)
def test_get(url):
    c = Client(raise_request_exception=False); c.force_login(User.objects.get(username="admin.sig"))
    for m in ("get", "post"):
        r = getattr(c, m)(url)
        print("\nPROBE", m, r.status_code, r.get("Content-Type"), url[:90], (b"".join(r.streaming_content) if r.streaming else r.content)[:200])
@pytest.mark.parametrize("v", [HUGE, "NaN", "1e400", "-" + HUGE])
@pytest.mark.parametrize("doc", [T, I])
def test_t(v, doc):
    c = Client(raise_request_exception=False); c.force_login(User.objects.get(username="admin.sig"))
    r = c.post("/ows", doc.format(v=v), content_type="text/xml")
    print("\nPROBE T", r.status_code, v, r.content[:300])
