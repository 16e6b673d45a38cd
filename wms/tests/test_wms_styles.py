"""Styles: SLD import (QGIS SE 1.1 and SLD 1.0), warnings, garbage, safe Mapnik expressions, and
the French admin form (simple, categorised, graduated, SLD upload)."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from layers.admin_styles import StyleForm
from layers.models import Layer, Style
from layers.sld import import_sld
from layers.styles import StyleError, clean_definition, rules_of
from maps.mapnik_xml import mapnik_expression
from layers.testing import make_vector_layer
from maps.mapnik_env import mapnik

from .conftest import PUBLIC_VIEW, make_style

ATTRIBUTES = [{"name": "nom", "type": "text"}, {"name": "surface", "type": "double precision"},
              {"name": "code", "type": "integer"}]


def memory_layer(geometry_type="MULTIPOLYGON"):
    return Layer(name="essai", title="Essai", geometry_type=geometry_type, attributes=ATTRIBUTES)


SLD_10 = """<?xml version="1.0" encoding="ISO-8859-1"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"
    xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink">
  <NamedLayer><Name>essai</Name>
    <UserStyle><Title>Points</Title>
      <FeatureTypeStyle>
        <Rule><Title>Grands</Title>
          <ogc:Filter><ogc:Or>
            <ogc:PropertyIsBetween><ogc:PropertyName>surface</ogc:PropertyName>
              <ogc:LowerBoundary><ogc:Literal>10</ogc:Literal></ogc:LowerBoundary>
              <ogc:UpperBoundary><ogc:Literal>20.5</ogc:Literal></ogc:UpperBoundary>
            </ogc:PropertyIsBetween>
            <ogc:PropertyIsLike wildCard="*" singleChar="." escape="!">
              <ogc:PropertyName>nom</ogc:PropertyName><ogc:Literal>Gu*ran.e!*</ogc:Literal>
            </ogc:PropertyIsLike>
            <ogc:PropertyIsNull><ogc:PropertyName>code</ogc:PropertyName></ogc:PropertyIsNull>
          </ogc:Or></ogc:Filter>
          <MinScaleDenominator>1000</MinScaleDenominator>
          <PointSymbolizer><Graphic>
            <Mark><WellKnownName>star</WellKnownName>
              <Fill><CssParameter name="fill">#FF0000</CssParameter></Fill>
              <Stroke><CssParameter name="stroke">#000000</CssParameter></Stroke>
            </Mark><Size>12</Size></Graphic></PointSymbolizer>
        </Rule>
        <Rule><Title>Fonction</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo>
            <ogc:Function name="strToLowerCase"><ogc:PropertyName>nom</ogc:PropertyName></ogc:Function>
            <ogc:Literal>x</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PointSymbolizer><Graphic><Mark><WellKnownName>circle</WellKnownName></Mark></Graphic></PointSymbolizer>
        </Rule>
        <Rule><Title>Image</Title>
          <PointSymbolizer><Graphic><ExternalGraphic><OnlineResource xlink:href="x.png"/>
            <Format>image/png</Format></ExternalGraphic></Graphic></PointSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
"""


def test_sld_1_0_filters_marks_and_warnings():
    imported = import_sld(SLD_10.encode("iso-8859-1"), memory_layer("POINT"))
    titles = [rule["title"] for rule in imported.definition["rules"]]
    assert titles == ["Grands", "Image"]  # the Function rule is skipped, and said so
    assert any("Function" in w and "Fonction" in w for w in imported.warnings)
    assert any("ExternalGraphic" in w or "image externe" in w for w in imported.warnings)
    grands = imported.definition["rules"][0]
    assert grands["min_scale"] == 1000
    assert grands["symbolizers"][0]["mark"] == "star" and grands["symbolizers"][0]["size"] == 12
    expression = mapnik_expression(grands["filter"], {a["name"]: a["type"] for a in ATTRIBUTES})
    parsed = mapnik.Expression(expression)
    context = mapnik.Context()

    def matches(properties):
        feature = mapnik.Feature.from_geojson(json.dumps(
            {"type": "Feature", "geometry": None, "properties": properties}), context)
        return bool(parsed.evaluate(feature))

    assert matches({"nom": "zz", "surface": 15.0, "code": 1})
    assert not matches({"nom": "zz", "surface": 25.0, "code": 1})
    assert matches({"nom": "Guérande*", "surface": 0.0, "code": 1})
    assert not matches({"nom": "Guérandes", "surface": 0.0, "code": 1})


@pytest.mark.parametrize("value", ["L'Île-d'Yeu", 'a "b" c', "back\\slash", "x') or (1=1", "é;—"])
def test_filter_values_are_quoted_safely(value):
    node = clean_definition({"kind": "categorized", "attribute": "nom", "categories": [
        {"value": value, "symbol": [{"type": "polygon", "fill": "#ff0000"}]}]}, memory_layer())
    rule = rules_of(node)[0]
    expression = mapnik.Expression(mapnik_expression(rule["filter"], {"nom": "text"}))
    context = mapnik.Context()
    for candidate, expected in ((value, True), (value + "x", False), ("", False)):
        feature = mapnik.Feature.from_geojson(json.dumps(
            {"type": "Feature", "geometry": None, "properties": {"nom": candidate}}), context)
        assert bool(expression.evaluate(feature)) is expected


GARBAGE = [
    (b"", "vide"),
    (b"pas du xml", "XML valide"),
    (b"<StyledLayerDescriptor><NamedLayer>", "XML valide"),
    (b"<html><body>404</body></html>", "n'est pas un SLD"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b"<StyledLayerDescriptor>&e;</StyledLayerDescriptor>", "DOCTYPE"),
    (b'<StyledLayerDescriptor xmlns="http://www.opengis.net/sld"/>', "aucun style"),
    (b'<StyledLayerDescriptor xmlns="http://www.opengis.net/sld"><NamedLayer><UserStyle>'
     b"<FeatureTypeStyle/></UserStyle></NamedLayer></StyledLayerDescriptor>", "aucune règle"),
    (b"\xff\xfe\x00garbage", "XML"),
]


@pytest.mark.parametrize("data,message", GARBAGE)
def test_garbage_sld_is_a_clear_french_error(data, message):
    with pytest.raises(StyleError) as error:
        import_sld(data, memory_layer())
    assert message in " ".join(error.value.messages)


def test_unknown_attribute_or_colour_is_refused():
    with pytest.raises(StyleError, match="n'est pas un attribut"):
        clean_definition({"kind": "single", "symbol": [], "label": {"attribute": "inconnu"}},
                         memory_layer())
    with pytest.raises(StyleError, match="Couleur invalide"):
        clean_definition({"kind": "single", "symbol": [{"type": "polygon", "fill": "red"}]},
                         memory_layer())
    with pytest.raises(StyleError, match="Nom d'attribut invalide"):
        clean_definition({"kind": "categorized", "attribute": "a]b", "categories": [
            {"value": 1, "symbol": []}]})


@pytest.fixture
def parcelles(db):
    rows = [{"nom": f"p{i}", "surface": float(i * i), "code": i % 3,
             "geom": f"POLYGON(({290000 + i * 100} 6700000,{290050 + i * 100} 6700000,"
                     f"{290050 + i * 100} 6700050,{290000 + i * 100} 6700000))"}
            for i in range(1, 21)]
    return make_vector_layer("wms_parcelles", "POLYGON",
                             [("nom", "text"), ("surface", "double precision"), ("code", "integer")],
                             rows, PUBLIC_VIEW)


def form(user, data, files=None, instance=None):
    request = RequestFactory().post("/admin/")
    request.user = user
    form_class = type("F", (StyleForm,), {"request": request})
    defaults = {"fill": "#3a87c8", "stroke": "#1d4f7a", "stroke_width": 1, "opacity": 0.8,
                "mark": "circle", "size": 8, "method": "quantile", "classes": 5,
                "color_from": "#ffffff", "color_to": "#000000", "label_size": 11}
    return form_class({**defaults, **data}, files or {}, instance=instance)


def test_admin_form_graduated_categorised_and_sld(parcelles, admin_user):
    graduated = form(admin_user, {"layer": parcelles.pk, "name": "surfaces", "title": "Surfaces",
                                  "kind": "graduated", "attribute": "surface", "classes": 4,
                                  "is_default": True, "label_attribute": "nom"})
    assert graduated.is_valid(), graduated.errors
    style = graduated.save()
    assert style.definition["breaks"][0] == 1.0 and style.definition["breaks"][-1] == 400.0
    assert len(style.definition["breaks"]) == 5
    assert style.definition["label"]["attribute"] == "nom"

    categorised = form(admin_user, {"layer": parcelles.pk, "name": "codes", "title": "Codes",
                                    "kind": "categorized", "attribute": "code"})
    assert categorised.is_valid(), categorised.errors
    style = categorised.save()
    assert [c["value"] for c in style.definition["categories"]] == ["0", "1", "2"]

    # A second default demotes the first (no constraint error).
    second = form(admin_user, {"layer": parcelles.pk, "name": "simple", "title": "Simple",
                               "kind": "single", "is_default": True})
    assert second.is_valid(), second.errors

    bad = form(admin_user, {"layer": parcelles.pk, "name": "mauvais", "title": "Mauvais",
                            "kind": "graduated", "attribute": "nom"})
    assert not bad.is_valid()
    assert "n'est pas numérique" in " ".join(bad.non_field_errors())

    upload = SimpleUploadedFile("style.sld", SLD_10.replace("PointSymbolizer", "PolygonSymbolizer")
                                .encode("iso-8859-1"))
    imported = form(admin_user, {"layer": parcelles.pk, "name": "qgis", "title": "QGIS",
                                 "kind": "single"}, {"sld_file": upload})
    assert imported.is_valid(), imported.errors
    style = imported.save()
    assert style.kind == Style.Kind.SLD and style.import_warnings and "StyledLayer" in style.sld

    garbage = form(admin_user, {"layer": parcelles.pk, "name": "nul", "title": "Nul",
                                "kind": "single"},
                   {"sld_file": SimpleUploadedFile("x.sld", b"<oops")})
    assert not garbage.is_valid()
    assert "XML valide" in " ".join(garbage.non_field_errors())


def test_the_style_admin_downloads_the_style_as_sld(communes_layer, client):
    """The GIS staff's "download as SLD" answers a file QGIS can load, which imports back to the
    same rules; other users get nothing."""
    from django.urls import reverse

    from accounts.models import User
    from layers.styles import resolve_style

    style = make_style(communes_layer, {
        "kind": "categorized", "attribute": "insee",
        "categories": [{"value": "44069", "title": "Guérande",
                        "symbol": [{"type": "polygon", "fill": "#00ff00", "stroke": "#000000",
                                    "stroke_dasharray": [3, 1]}]}],
        "other": [{"type": "polygon", "fill": "#cccccc"}], "min_scale": 500}, name="par_insee")
    url = reverse("admin:layers_style_sld", args=[style.pk])
    client.force_login(User.objects.filter(is_superuser=True).first())
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="wms_communes-par_insee.sld"'
    imported = import_sld(response.content, communes_layer)
    assert imported.warnings == [] and imported.style_name == "par_insee"
    drawn = resolve_style(communes_layer, style).rules
    assert [r["symbolizers"] for r in imported.definition["rules"]] == \
        [r["symbolizers"] for r in drawn]
    assert [r["min_scale"] for r in imported.definition["rules"]] == [500, 500]
    change_page = client.get(reverse("admin:layers_style_change", args=[style.pk]))
    assert url in change_page.content.decode()
    client.force_login(User.objects.get(username="agent.labaule"))
    assert client.get(url).status_code in (302, 403, 404)
