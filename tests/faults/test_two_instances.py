"""Two platform instances on one database (issue 17, item 1): two gunicorn servers, each one
process (so each holds its own per-process caches: maps.decisions, the Mapnik maps, MapProxy's
configurations, layers.access's rule facts, Basic credentials…), the way two app servers behind a
load balancer run. An administrator changes something through instance A's administration pages;
the next request to instance B — whose caches were filled just before — follows at once: a
rule withdrawn (WMS, WFS, REST), a style changed (WMS pixels), a layer deleted, an account
deactivated. Each per-process cache is invalidated through PostgreSQL
(docs/architecture.md, « Caches par processus et plusieurs serveurs »)."""
import io
import re
from html.parser import HTMLParser

import pytest
import requests
from PIL import Image

from .conftest import GIS_ADMIN, basic
from .processes import PASSWORD, Platform

pytestmark = pytest.mark.faults

AGENT = "agent.guerande"


@pytest.fixture(scope="module")
def instances(platform):
    """Instances A and B, one gunicorn worker each, on the package's database."""
    pair = []
    try:
        for _name in "AB":
            pair.append(Platform(platform.cluster, **platform.settings).serve(workers=1))
        yield pair
    finally:
        for instance in pair:
            instance.destroy()


class _Form(HTMLParser):
    """The fields of the page's main form, as a browser would send them unchanged."""

    def __init__(self):
        super().__init__()
        self.fields, self._select, self._textarea, self._in_form = [], None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "").lower() == "post":
            self._in_form = True
        if not self._in_form or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append([attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")])
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append([self._select, attrs.get("value", "")])
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]
            self.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_fields(html):
    parser = _Form()
    parser.feed(html)
    return parser.fields


class Admin:
    """The GIS administrator in instance A's administration pages (session, CSRF)."""

    def __init__(self, instance):
        self.instance, self.session = instance, requests.Session()
        login = instance.url("/admin/login/")
        page = self.session.get(login, timeout=60)
        answer = self.session.post(login, timeout=60, data={
            "csrfmiddlewaretoken": self._token(page.text), "username": GIS_ADMIN,
            "password": PASSWORD, "next": "/admin/"}, headers={"Referer": login})
        assert answer.status_code == 200 and "/admin/logout/" in answer.text, answer.text[-500:]

    @staticmethod
    def _token(html):
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def change(self, path, **changes):
        """Send the object's change form as shown, with `changes` (None: the field unset)."""
        url = self.instance.url(path)
        fields = [f for f in form_fields(self.session.get(url, timeout=60).text)
                  if f[0] not in changes]
        fields += [[name, value] for name, value in changes.items() if value is not None]
        answer = self.session.post(url, data=fields, headers={"Referer": url}, timeout=120,
                                   allow_redirects=False)
        assert answer.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>',
                                                     answer.text, re.S) or answer.text[-1500:]

    def delete(self, path):
        url = self.instance.url(path)
        page = self.session.get(url, timeout=60)
        answer = self.session.post(url, data={"csrfmiddlewaretoken": self._token(page.text),
                                              "post": "yes"}, headers={"Referer": url},
                                   timeout=120, allow_redirects=False)
        assert answer.status_code == 302, answer.text[-1500:]


def get(instance, path, auth=None, **params):
    return requests.get(instance.url(path), params=params, headers=auth or {}, timeout=120)


def getmap(instance, layer, bbox, auth=None):
    return get(instance, "/ows", auth, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap",
               LAYERS=layer, STYLES="", CRS="EPSG:2154", BBOX=",".join(map(str, bbox)),
               WIDTH="64", HEIGHT="64", FORMAT="image/png", TRANSPARENT="TRUE")


def getfeature(instance, layer, auth=None):
    return get(instance, "/ows", auth, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature",
               TYPENAMES=layer, COUNT="5", OUTPUTFORMAT="application/json")


def layer_box(cluster, layer):
    """A 2 km box around a point of the layer's first feature (EPSG:2154)."""
    x, y = cluster.query(f'SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p '
                         f'FROM layers_data."{layer}" ORDER BY fid LIMIT 1) s')[0]
    return (x - 1000, y - 1000, x + 1000, y + 1000)


def centre_pixel(response):
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png", \
        response.text[:500]
    return Image.open(io.BytesIO(response.content)).convert("RGBA").getpixel((32, 32))


def served_everywhere(instances, layer, bbox, auth=None):
    """Fill each instance's caches for the layer and check it is served (WMS, WFS, REST)."""
    for instance in instances:
        image = getmap(instance, layer, bbox, auth)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).getchannel("A").getbbox()  # something drawn
        wfs = getfeature(instance, layer, auth)
        assert wfs.status_code == 200 and wfs.json()["features"], wfs.text[:500]
        rest = get(instance, f"/api/layers/{layer}/features", auth, limit="5")
        assert rest.status_code == 200 and rest.json()["features"], rest.text[:500]


def refused_everywhere(instances, layer, bbox, auth=None):
    for instance in instances:
        wms = getmap(instance, layer, bbox, auth)
        assert "LayerNotDefined" in wms.text, wms.text[:500]
        wfs = getfeature(instance, layer, auth)
        assert wfs.status_code in (400, 404) and "ExceptionReport" in wfs.text, wfs.text[:500]
        assert get(instance, f"/api/layers/{layer}/features", auth).status_code == 404


def test_a_rule_withdrawn_through_a_applies_on_b_next_request(instances, platform):
    a, b = instances
    cluster = platform.cluster
    layer = "zones_activite"
    bbox = layer_box(cluster, layer)
    served_everywhere([b, a], layer, bbox)  # the public (anonymous) sees it on both
    rule = cluster.value("SELECT r.id FROM layers_accessrule r JOIN layers_layer l "
                         "ON l.id = r.layer_id WHERE l.name = %s AND r.audience = 'public'", (layer,))
    Admin(a).delete(f"/admin/layers/accessrule/{rule}/delete/")
    refused_everywhere([b, a], layer, bbox)


def test_a_style_changed_through_a_is_drawn_by_b(instances, platform):
    a, b = instances
    layer = "communes"
    bbox = layer_box(platform.cluster, layer)
    before = centre_pixel(getmap(b, layer, bbox))
    assert not (before[0] > 200 and before[1] < 90 and before[2] < 90), before  # not red yet
    style = platform.cluster.value("SELECT s.id FROM layers_style s JOIN layers_layer l ON "
                                   "l.id = s.layer_id WHERE l.name = %s AND s.is_default", (layer,))
    Admin(a).change(f"/admin/layers/style/{style}/change/", fill="#ff0000", opacity="1")
    red = centre_pixel(getmap(b, layer, bbox))
    assert red[0] > 200 and red[1] < 90 and red[2] < 90, red


def test_a_layer_withdrawn_through_a_is_gone_from_b(instances, platform):
    """Unpublishing, as the catalogue does it: the layer's page in the administration, its public
    rule ticked « supprimer » (the layer's table and history stay; nobody but the GIS
    administrators sees it any more)."""
    a, b = instances
    cluster = platform.cluster
    layer = "mairies"
    bbox = layer_box(cluster, layer)
    served_everywhere([b], layer, bbox)
    layer_id, rule = cluster.query(
        "SELECT l.id, r.id FROM layers_layer l JOIN layers_accessrule r ON r.layer_id = l.id "
        "WHERE l.name = %s AND r.audience = 'public'", (layer,))[0]
    admin = Admin(a)
    path = f"/admin/layers/layer/{layer_id}/change/"
    fields = form_fields(admin.session.get(a.url(path), timeout=60).text)
    inline = next(name[:-len("-id")] for name, value in fields
                  if re.fullmatch(r".+-\d+-id", name) and value == str(rule))
    admin.change(path, **{f"{inline}-DELETE": "on"})
    assert cluster.value("SELECT count(*) FROM layers_accessrule WHERE id = %s", (rule,)) == 0
    refused_everywhere([b], layer, bbox)
    capabilities = get(b, "/ows", SERVICE="WMS", VERSION="1.3.0", REQUEST="GetCapabilities")
    assert capabilities.status_code == 200 and f"<Name>{layer}</Name>" not in capabilities.text


def test_an_account_deactivated_through_a_is_refused_by_b(instances, platform):
    a, b = instances
    auth = basic(AGENT)
    layer = "communes"  # credentials that fail are refused, whatever the layer
    bbox = layer_box(platform.cluster, layer)
    served_everywhere([b], layer, bbox, auth)  # Basic credentials remembered by B's process
    user = platform.cluster.value("SELECT id FROM accounts_user WHERE username = %s", (AGENT,))
    try:
        Admin(a).change(f"/admin/accounts/user/{user}/change/", is_active=None)
        assert platform.cluster.value("SELECT is_active FROM accounts_user WHERE id = %s",
                                      (user,)) is False
        assert get(b, f"/api/layers/{layer}/features", auth).status_code == 401
        assert getfeature(b, layer, auth).status_code == 401
        assert getmap(b, layer, bbox, auth).status_code == 401
    finally:  # the other tests of the package sign in as this agent
        platform.cluster.query("UPDATE accounts_user SET is_active = true WHERE id = %s", (user,))
