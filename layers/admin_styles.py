"""Administration of layer styles: a French form for simple styles, SLD import and export (QGIS).

The form builds a style definition (layers.styles) from a few fields, or from an uploaded SLD
file; what the SLD import could not translate is kept in ``import_warnings`` and shown to the
user. Class breaks and categories are computed from the data the user may see (their Grant).
"""
import json

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from .access import AccessPolicy
from .models import Permission, Style
from .sld import import_sld
from .sld_export import style_document
from .styles import MARKS, StyleError, clean_definition, compute_breaks, geometry_family

PALETTE = ["#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3",
           "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99"]
MAX_CATEGORIES = 40


def distinct_values(source, attribute, limit=MAX_CATEGORIES + 1):
    return source.distinct_values(attribute, limit)


class ColorInput(forms.TextInput):
    input_type = "color"


class StyleForm(forms.ModelForm):
    sld_file = forms.FileField(label=_("fichier SLD"), required=False,
                               help_text=_("SLD 1.0 ou SE 1.1, par exemple exporté depuis QGIS "
                                           "(Propriétés de la couche › Symbologie › Style › "
                                           "Enregistrer le style › SLD). Remplace la définition."))
    fill = forms.CharField(label=_("couleur de remplissage"), initial="#3a87c8", widget=ColorInput)
    stroke = forms.CharField(label=_("couleur du contour / de la ligne"), initial="#1d4f7a",
                             widget=ColorInput)
    stroke_width = forms.FloatField(label=_("épaisseur du trait (px)"), initial=1, min_value=0,
                                    max_value=50)
    opacity = forms.FloatField(label=_("opacité du remplissage (0 à 1)"), initial=0.8,
                               min_value=0, max_value=1)
    mark = forms.ChoiceField(label=_("forme des points"), choices=[(m, m) for m in MARKS],
                             initial="circle")
    size = forms.FloatField(label=_("taille des points (px)"), initial=8, min_value=1,
                            max_value=100)
    attribute = forms.CharField(label=_("attribut (catégorisé ou gradué)"), required=False)
    categories = forms.CharField(
        label=_("catégories"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Une par ligne : valeur;#couleur;titre. Vide : une catégorie par valeur "
                    "distincte de l'attribut (40 au plus)."))
    method = forms.ChoiceField(label=_("méthode de classement"), initial="quantile",
                               choices=[("quantile", _("quantiles (effectifs égaux)")),
                                        ("equal_interval", _("intervalles égaux"))])
    classes = forms.IntegerField(label=_("nombre de classes"), initial=5, min_value=1,
                                 max_value=12)
    color_from = forms.CharField(label=_("couleur de la première classe"), initial="#fee8c8",
                                 widget=ColorInput)
    color_to = forms.CharField(label=_("couleur de la dernière classe"), initial="#b30000",
                               widget=ColorInput)
    label_attribute = forms.CharField(label=_("étiquettes : attribut"), required=False)
    label_size = forms.FloatField(label=_("étiquettes : taille (px)"), initial=11, min_value=4,
                                  max_value=60)
    min_scale = forms.FloatField(label=_("visible à partir du 1:"), required=False, min_value=0,
                                 help_text=_("Dénominateur d'échelle minimal (vide : toujours)."))
    max_scale = forms.FloatField(label=_("visible jusqu'au 1:"), required=False, min_value=0,
                                 help_text=_("Dénominateur d'échelle maximal (vide : toujours)."))

    class Meta:
        model = Style
        fields = ["layer", "name", "title", "is_default", "kind"]

    request = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        definition = self.instance.definition or {}
        if definition and not self.is_bound:
            self._initial_from(definition)

    def _initial_from(self, definition):
        symbol = definition.get("symbol") or []
        first = symbol[0] if symbol else {}
        for key, field in (("fill", "fill"), ("stroke", "stroke"), ("stroke_width", "stroke_width"),
                           ("fill_opacity", "opacity"), ("mark", "mark"), ("size", "size")):
            if first.get(key) is not None:
                self.initial[field] = first[key]
        self.initial["attribute"] = definition.get("attribute", "")
        if definition.get("categories"):
            self.initial["categories"] = "\n".join(
                f"{c['value']};{c['symbol'][0].get('fill') or c['symbol'][0].get('stroke')};{c['title']}"
                for c in definition["categories"] if c["symbol"])
        for key in ("method", "classes", "min_scale", "max_scale"):
            if definition.get(key) is not None:
                self.initial[key] = definition[key]
        if definition.get("colors"):
            self.initial["color_from"], self.initial["color_to"] = definition["colors"]
        if definition.get("label"):
            self.initial["label_attribute"] = definition["label"]["attribute"]
            self.initial["label_size"] = definition["label"]["size"]

    def _get_validation_exclusions(self):
        # One default style per layer: saving a new default demotes the previous one
        # (StyleAdmin.save_model), so the constraint is not a form error.
        exclusions = super()._get_validation_exclusions()
        exclusions.add("is_default")
        return exclusions

    def _grant(self, layer):
        return AccessPolicy.for_user(self.request.user).source(layer, Permission.VIEW)

    def _symbol(self, layer, fill=None):
        data = self.cleaned_data
        family = geometry_family(layer.geometry_type)
        fill = fill or data["fill"]
        if family == "point":
            return [{"type": "point", "mark": data["mark"], "size": data["size"], "fill": fill,
                     "stroke": data["stroke"], "stroke_width": data["stroke_width"]}]
        if family == "line":
            return [{"type": "line", "stroke": fill, "stroke_width": max(data["stroke_width"], 0.5)}]
        return [{"type": "polygon", "fill": fill, "fill_opacity": data["opacity"],
                 "stroke": data["stroke"], "stroke_width": data["stroke_width"]}]

    def _categories(self, layer, attribute):
        lines = [line.strip() for line in self.cleaned_data["categories"].splitlines() if line.strip()]
        if not lines:
            values = distinct_values(self._grant(layer), attribute)
            if len(values) > MAX_CATEGORIES:
                raise StyleError(_t("L'attribut a plus de %(n)d valeurs distinctes : donnez les "
                                    "catégories vous-même.") % {"n": MAX_CATEGORIES})
            lines = [f"{value};{PALETTE[i % len(PALETTE)]};{value}" for i, value in enumerate(values)]
        categories = []
        for line in lines:
            value, _sep, rest = line.partition(";")
            color, _sep, title = rest.partition(";")
            categories.append({"value": value.strip(), "title": title.strip() or value.strip(),
                               "symbol": self._symbol(layer, color.strip() or None)})
        return categories

    def _definition(self, layer):
        data = self.cleaned_data
        kind = data["kind"]
        label = None
        if data.get("label_attribute"):
            label = {"attribute": data["label_attribute"].strip(), "size": data["label_size"],
                     "color": "#000000", "halo_color": "#ffffff", "halo_radius": 1.5}
        common = {"kind": kind, "label": label, "min_scale": data.get("min_scale"),
                  "max_scale": data.get("max_scale")}
        attribute = (data.get("attribute") or "").strip()
        if kind == Style.Kind.SINGLE:
            return {**common, "symbol": self._symbol(layer)}
        if kind in (Style.Kind.CATEGORIZED, Style.Kind.GRADUATED) and not attribute:
            raise StyleError(_t("Indiquez l'attribut à représenter."))
        if kind == Style.Kind.CATEGORIZED:
            return {**common, "attribute": attribute,
                    "categories": self._categories(layer, attribute)}
        if kind == Style.Kind.GRADUATED:
            breaks = compute_breaks(self._grant(layer), attribute, data["method"], data["classes"])
            return {**common, "attribute": attribute, "method": data["method"], "breaks": breaks,
                    "colors": [data["color_from"], data["color_to"]], "symbol": self._symbol(layer)}
        # SLD kept as imported; only the scale range and label can be changed here.
        definition = dict(self.instance.definition or {})
        if not definition.get("rules"):
            raise StyleError(_t("Un style « SLD » se crée en important un fichier SLD."))
        return {**definition, "label": label or definition.get("label"),
                "min_scale": common["min_scale"], "max_scale": common["max_scale"]}

    def clean(self):
        cleaned = super().clean()
        layer = cleaned.get("layer")
        if layer is None or self.errors:
            return cleaned
        if not layer.is_vector:
            raise forms.ValidationError(_t("Seules les couches vectorielles ont des styles."))
        upload = cleaned.get("sld_file")
        try:
            if upload:
                if upload.size > 2 * 1024 * 1024:
                    raise StyleError(_t("Le fichier SLD est trop volumineux (2 Mo au plus)."))
                text = upload.read()
                imported = import_sld(text, layer)
                cleaned["kind"] = Style.Kind.SLD
                self.instance.kind = Style.Kind.SLD
                self.instance.definition = imported.definition
                self.instance.sld = text.decode("utf-8", errors="replace")
                self.instance.import_warnings = imported.warnings
            else:
                self.instance.definition = clean_definition(self._definition(layer), layer)
                if cleaned["kind"] != Style.Kind.SLD:
                    self.instance.sld, self.instance.import_warnings = "", []
        except StyleError as error:
            raise forms.ValidationError(error.messages) from None
        return cleaned


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    form = StyleForm
    list_display = ["title", "name", "layer", "kind", "is_default", "updated_at"]
    list_filter = ["kind", "is_default", "layer__theme"]
    search_fields = ["name", "title", "layer__name", "layer__title"]
    readonly_fields = ["warnings", "definition_display", "legend", "sld_export"]
    fieldsets = [
        (None, {"fields": ["layer", "name", "title", "is_default", "kind"]}),
        (_("Import SLD (QGIS)"), {"fields": ["sld_file", "warnings"]}),
        (_("Symbole"), {"fields": ["fill", "stroke", "stroke_width", "opacity", "mark", "size"]}),
        (_("Catégorisé ou gradué"), {"fields": ["attribute", "categories", "method", "classes",
                                                "color_from", "color_to"]}),
        (_("Étiquettes et échelles"), {"fields": ["label_attribute", "label_size", "min_scale",
                                                  "max_scale"]}),
        (_("Résultat"), {"fields": ["legend", "sld_export", "definition_display"],
                         "classes": ["collapse"]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type("StyleFormWithRequest", (form,), {"request": request})

    @admin.display(description=_("avertissements de l'import"))
    def warnings(self, obj):
        if not obj.import_warnings:
            return _t("aucun")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>",
                                                           ((w,) for w in obj.import_warnings)))

    @admin.display(description=_("définition (JSON)"))
    def definition_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.definition, ensure_ascii=False, indent=2))

    @admin.display(description=_("légende"))
    def legend(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<img src="/ows?SERVICE=WMS&amp;REQUEST=GetLegendGraphic&amp;LAYER={}'
                           '&amp;STYLE={}&amp;FORMAT=image/png" alt="">', obj.layer.name, obj.name)

    @admin.display(description=_("export SLD"))
    def sld_export(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:layers_style_sld", args=[obj.pk])
        return format_html('<a href="{}" download>{}</a> — {}', url,
                           _t("Télécharger le style en SLD 1.1"),
                           _t("à charger dans QGIS (Propriétés de la couche › Symbologie › Style › "
                              "Charger le style)."))

    def get_urls(self):
        extra = [path("<int:pk>/sld/", self.admin_site.admin_view(self.sld_view),
                      name="layers_style_sld")]
        return extra + super().get_urls()

    def sld_view(self, request, pk):
        style = Style.objects.select_related("layer").filter(pk=pk).first()
        if style is None or not self.has_view_permission(request, style):
            raise Http404
        try:
            body = style_document(style)
        except StyleError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("admin:layers_style_change", pk)
        response = HttpResponse(body, content_type="application/vnd.ogc.sld+xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{style.layer.name}-{style.name}.sld"'
        return response

    def save_model(self, request, obj, form, change):
        if obj.is_default:
            Style.objects.filter(layer=obj.layer, is_default=True).exclude(pk=obj.pk).update(
                is_default=False)
        super().save_model(request, obj, form, change)
        if obj.import_warnings:
            messages.warning(request, _t("Import SLD : %(n)d élément(s) non pris en charge, voir "
                                         "la liste des avertissements.")
                             % {"n": len(obj.import_warnings)})
