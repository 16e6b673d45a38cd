"""Administration of the catalogue, for GIS staff: themes, layers and their access rules.

Layers are created by publishing data (their table comes with them), not here; deleting one drops
its tables (layers.signals). Computed metadata (geometry type, count, extent, attributes) is shown
read-only: it is refreshed from the data at each publication.
"""
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.contrib.gis.admin.options import GeoModelAdminMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Role
from territory.admin import OfflineMapAdmin
from territory.offline_map_widget import OfflineMapWidget

from .models import (
    AccessRule, Audience, ColumnAccess, ImportJob, Layer, Operation, Permission,
    PersonalDataRead, Publication, RemoteLayer, RemoteService, RowRestriction, RuleAudience, Theme,
    validate_condition,
)
from .remote.capabilities import read_capabilities, sync_service
from .remote.fetch import RemoteError
from .remote.publish import publish, refresh_service
from .search import search_query
from .tables import refresh_layer_metadata

INSEE_RESTRICTION_NEEDS_FIELD = _("La restriction par code INSEE demande de renseigner le champ du "
                                  "code INSEE de la couche.")


class ReadOnlyOfflineMapWidget(OfflineMapWidget):
    """The offline map, without drawing tools: for computed geometries such as an extent."""
    template_name = "layers/catalogue/admin_extent_map.html"


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "inspire_theme", "layer_count"]
    list_editable = ["order"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(layer_count=Count("layers"))

    @admin.display(description=_("couches"), ordering="layer_count")
    def layer_count(self, theme):
        return theme.layer_count


CONDITION_OPERATOR_CHOICES = [
    ("", "—"), ("=", "="), ("<>", "≠"), ("<", "<"), ("<=", "≤"), (">", ">"), (">=", "≥"),
    ("in", _("parmi (valeurs séparées par « ; »)")), ("like", _("ressemble à (% joker)")),
    ("is_null", _("est vide")), ("not_null", _("n'est pas vide")),
]


class AccessRuleForm(forms.ModelForm):
    """A rule in the layer's page: who, what operations, which columns, read and write filters,
    when. Columns and conditions are chosen among the layer's columns (never SQL)."""
    # An ArrayField of choices would be a comma-separated text box: offer checkboxes instead.
    roles = forms.TypedMultipleChoiceField(
        label=_("Rôles"), choices=Role.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Pour « les utilisateurs ayant un rôle donné »."),
    )
    operations = forms.TypedMultipleChoiceField(
        label=_("Opérations"), choices=Operation.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Sans case cochée : celles du niveau. Consulter accompagne toujours les "
                    "autres. Une interdiction de consulter interdit tout."),
    )
    hidden_columns = forms.MultipleChoiceField(
        label=_("Colonnes masquées"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Absentes de toutes les réponses (WFS, API, exports, tuiles, "
                    "interrogation, impression, données ouvertes)."))
    readonly_columns = forms.MultipleChoiceField(
        label=_("Colonnes en lecture seule"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Les autres sont modifiables si la règle permet d'ajouter ou de modifier les "
                    "attributs. Une colonne ajoutée plus tard à la couche est masquée."))
    read_condition_column = forms.ChoiceField(label=_("Lecture : colonne"), required=False)
    read_condition_op = forms.ChoiceField(label=_("opérateur"), required=False,
                                          choices=CONDITION_OPERATOR_CHOICES)
    read_condition_value = forms.CharField(label=_("valeur"), required=False, max_length=200)
    write_condition_column = forms.ChoiceField(label=_("Écriture : colonne"), required=False)
    write_condition_op = forms.ChoiceField(label=_("opérateur"), required=False,
                                           choices=CONDITION_OPERATOR_CHOICES)
    write_condition_value = forms.CharField(label=_("valeur"), required=False, max_length=200)

    class Meta:
        model = AccessRule
        fields = ["description", "effect", "priority", "audience", "communes", "roles", "users",
                  "groups", "permission", "operations", "row_restriction", "area", "area_mode",
                  "write_restriction", "write_area", "valid_from", "valid_until"]

    def __init__(self, *args, layer=None, **kwargs):
        super().__init__(*args, **kwargs)
        layer = layer if layer is not None else (self.instance.layer
                                                 if self.instance.layer_id else None)
        names = layer.attribute_names() if layer is not None and layer.attributes else []
        self.column_names = names
        choices = [(name, name) for name in names]
        for field in ("hidden_columns", "readonly_columns"):
            self.fields[field].choices = choices
        for field in ("read_condition_column", "write_condition_column"):
            self.fields[field].choices = [("", "—"), *choices]
        rule = self.instance
        if rule.pk:
            self.initial["operations"] = list(rule.operations)
            self.initial["hidden_columns"] = [n for n, a in (rule.columns or {}).items()
                                              if a == ColumnAccess.HIDDEN]
            self.initial["readonly_columns"] = [n for n, a in (rule.columns or {}).items()
                                                if a == ColumnAccess.READ]
            for prefix in ("read", "write"):
                condition = getattr(rule, f"{prefix}_condition") or {}
                value = condition.get("value")
                self.initial[f"{prefix}_condition_column"] = condition.get("column", "")
                self.initial[f"{prefix}_condition_op"] = condition.get("op", "")
                self.initial[f"{prefix}_condition_value"] = \
                    "; ".join(map(str, value)) if isinstance(value, list) else (value or "")

    def _condition(self, prefix):
        column = self.cleaned_data.get(f"{prefix}_condition_column")
        op = self.cleaned_data.get(f"{prefix}_condition_op")
        value = (self.cleaned_data.get(f"{prefix}_condition_value") or "").strip()
        if not column and not op:
            return None
        if not column or not op:
            self.add_error(f"{prefix}_condition_column",
                           _("Choisissez une colonne et un opérateur, ou aucun des deux."))
            return None
        condition = {"column": column, "op": op}
        if op == "in":
            condition["value"] = [v.strip() for v in value.split(";") if v.strip()]
        elif op not in ("is_null", "not_null"):
            condition["value"] = value
        try:
            validate_condition(condition, set(self.column_names))
        except ValidationError as error:
            self.add_error(f"{prefix}_condition_value", error)
            return None
        return condition

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("audience") == Audience.COMMUNES and not cleaned.get("communes"):
            self.add_error("communes", _("Choisissez au moins une commune."))
        if cleaned.get("audience") == RuleAudience.USERS and not cleaned.get("users"):
            self.add_error("users", _("Choisissez au moins un utilisateur."))
        if cleaned.get("audience") == RuleAudience.GROUPS and not cleaned.get("groups"):
            self.add_error("groups", _("Choisissez au moins un groupe."))
        hidden = set(cleaned.get("hidden_columns") or [])
        readonly = set(cleaned.get("readonly_columns") or [])
        if hidden & readonly:
            self.add_error("readonly_columns", _("Une colonne est masquée ou en lecture seule, "
                                                 "pas les deux : %(names)s.")
                           % {"names": ", ".join(sorted(hidden & readonly))})
        self.rule_columns = {
            name: (ColumnAccess.HIDDEN if name in hidden else
                   ColumnAccess.READ if name in readonly else ColumnAccess.WRITE)
            for name in self.column_names}
        self.rule_conditions = {prefix: self._condition(prefix) for prefix in ("read", "write")
                                if f"{prefix}_condition_column" in self.fields}
        return cleaned

    def save(self, commit=True):
        rule = super().save(commit=False)
        rule.operations = list(self.cleaned_data.get("operations") or [])
        if self.column_names:
            # Every current column listed: a column added later gets other_columns (hidden).
            rule.columns = self.rule_columns
            rule.other_columns = ColumnAccess.HIDDEN
        for prefix, condition in self.rule_conditions.items():
            setattr(rule, f"{prefix}_condition", condition)
        if commit:
            rule.save()
            self.save_m2m()
        return rule


class AccessRuleFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "layer": self.instance}

    def clean(self):
        super().clean()
        # AccessRule.clean() only checks the INSEE field of a saved layer; check it here against
        # the layer as submitted, so a new field value (or a new layer) is taken into account.
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            for field in ("row_restriction", "write_restriction"):
                if form.cleaned_data.get(field) == RowRestriction.COMMUNE_INSEE \
                        and not self.instance.insee_field \
                        and INSEE_RESTRICTION_NEEDS_FIELD not in form.non_field_errors():
                    form.add_error(field, INSEE_RESTRICTION_NEEDS_FIELD)


RULE_FIELDSETS = [
    (None, {"fields": ["description", ("effect", "priority"), ("valid_from", "valid_until")]}),
    (_("Qui"), {"fields": ["audience", "communes", "roles", "users", "groups"]}),
    (_("Quoi"), {"fields": ["permission", "operations"]}),
    (_("Colonnes"), {"fields": ["hidden_columns", "readonly_columns"]}),
]
FILTER_FIELDSETS = [
    (_("Filtre de lecture"), {"fields": [
        "row_restriction", ("read_condition_column", "read_condition_op",
                            "read_condition_value"), "area_mode", "area"]}),
    (_("Filtre d'écriture (en plus de celui de lecture)"), {"fields": [
        "write_restriction", ("write_condition_column", "write_condition_op",
                              "write_condition_value"), "write_area"]}),
]
CONDITION_FIELDS = [f"{prefix}_condition_{part}" for prefix in ("read", "write")
                    for part in ("column", "op", "value")]


class AccessRuleInlineForm(AccessRuleForm):
    """The rule in the layer's page: everything but the areas and conditions, edited on the
    rule's own page (its map widgets would make a page of 30 rules take seconds)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in CONDITION_FIELDS:
            self.fields.pop(name, None)


class AccessRuleInline(admin.StackedInline):
    model = AccessRule
    form = AccessRuleInlineForm
    formset = AccessRuleFormSet
    extra = 0
    filter_horizontal = ["communes"]
    # Thousands of users: searched as typed, never every one rendered in each rule's form.
    autocomplete_fields = ["users", "groups"]
    show_change_link = True
    fieldsets = RULE_FIELDSETS + [
        (_("Objets (zones et conditions : page de la règle, lien « Modifier »)"),
         {"fields": ["row_restriction", "write_restriction"]}),
    ]
    verbose_name = _("règle d'accès")
    verbose_name_plural = _("règles d'accès (qui peut consulter, télécharger, modifier ; "
                            "colonnes ; filtres ; dates)")

    def get_queryset(self, request):
        # Each form shows its rule's communes, users and groups: read for all rules at once
        # (three queries), not three per rule.
        return super().get_queryset(request).prefetch_related("communes", "users", "groups")


@admin.register(AccessRule)
class AccessRuleAdmin(GeoModelAdminMixin, admin.ModelAdmin):
    """A rule on its own page: who, what, columns, read and write filters (areas on the offline
    map, conditions chosen among the layer's columns), when."""
    form = AccessRuleForm
    gis_widget = OfflineMapWidget
    list_display = ["layer", "description", "effect", "priority", "audience", "operations_display",
                    "valid_from", "valid_until"]
    list_filter = ["effect", "audience", "layer"]
    search_fields = ["layer__name", "layer__title", "description"]
    list_select_related = ["layer"]
    filter_horizontal = ["communes"]
    autocomplete_fields = ["users", "groups"]
    fieldsets = [(_("Couche"), {"fields": ["layer"]})] + RULE_FIELDSETS + FILTER_FIELDSETS

    @admin.display(description=_("opérations"))
    def operations_display(self, rule):
        return ", ".join(str(Operation(op).label) for op in rule.operations)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        layer = obj.layer if obj is not None else None

        class RuleForm(form):
            def __init__(self, *args, **inner):
                inner.setdefault("layer", layer)
                super().__init__(*args, **inner)
        return RuleForm

    def get_readonly_fields(self, request, obj=None):
        return ["layer"] if obj is not None else []

    # A page drawing the rows a user gets on a layer, added by the map engine (maps.admin):
    # the name of its admin URL, or None.
    effective_map_url = None

    def get_urls(self):
        return [path("ce-que-voit/", self.admin_site.admin_view(self.effective_view),
                     name="layers_accessrule_effective"),
                path("ce-que-voit/<slug:name>/", self.admin_site.admin_view(self.effective_layer),
                     name="layers_accessrule_effective_layer"),
                *super().get_urls()]

    @staticmethod
    def effective_target(request):
        """(the user whose rights are shown, the query string naming him, an error): a user by
        his login (?user=), or a user standing for a role and a commune (?role=&commune=, an
        INSEE code or nothing for the intercommunality), never saved."""
        from accounts.models import User
        from territory.models import Commune

        if not (request.user.is_active and request.user.is_gis_admin):
            raise PermissionDenied
        username = (request.GET.get("user") or "").strip()[:150]
        role = (request.GET.get("role") or "").strip()
        insee = (request.GET.get("commune") or "").strip()[:5]
        if username:
            target = User.objects.filter(username=username).first()
            if target is None:
                return None, "", _("Utilisateur « %(name)s » introuvable.") % {"name": username}
            return target, urlencode({"user": username}), None
        if role:
            if role not in Role.values:
                return None, "", _("Rôle inconnu : « %(role)s ».") % {"role": role[:40]}
            commune = None
            if insee:
                commune = Commune.objects.filter(insee=insee).first()
                if commune is None:
                    return None, "", _("Commune « %(insee)s » introuvable.") % {"insee": insee}
            target = User(username=f"({role})", role=role, commune=commune)
            target.capgeo_group_ids = ()  # no groups: rules naming users or groups don't apply
            return target, urlencode({"role": role, "commune": insee}), None
        return None, "", None

    def effective_context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta,
                "title": _("Ce que voit un utilisateur"), "roles": Role.choices,
                "role": request.GET.get("role", ""), "commune": request.GET.get("commune", ""),
                "username": (request.GET.get("user") or "").strip()[:150],
                "communes": communes_for_choice(), **extra}

    def effective_view(self, request):
        """« Ce que voit un utilisateur » : per layer, what the policy gives him — operations,
        columns, rows restricted or clipped — decided for all layers at once by the same methods
        as every protocol (AccessPolicy.overview). His rows are counted and drawn per layer, on
        the layer's own page (effective_layer), not here."""
        from .access import AccessPolicy

        target, query, error = self.effective_target(request)
        rows = None
        if target is not None:
            labels = {op.value: str(op.label) for op in Operation}
            # Hundreds of rows: joined here, and one URL reversed for all (not per row).
            link = reverse("admin:layers_accessrule_effective_layer", args=["-"])[:-2]
            rows = [{"layer": rights.layer.name, "url": f"{link}{rights.layer.name}/?{query}",
                     "operations": ", ".join(labels[op] for op in labels
                                             if op in rights.operations),
                     "readable": ", ".join(rights.readable),
                     "writable": ", ".join(rights.writable) or "—",
                     "restricted": rights.restricted, "clipped": rights.clipped,
                     "count": None if rights.restricted or rights.clipped
                     else rights.layer.feature_count}
                    for rights in AccessPolicy.for_user(target).overview()]
        return TemplateResponse(request, "admin/layers/accessrule/effective.html",
                                self.effective_context(request, rows=rows, error=error,
                                                       query=query))

    def effective_layer(self, request, name):
        """One layer as the user gets it: his operations and columns, how many rows and where
        (counted through his read filter by his feature source), and the map of his rows."""
        from .access import AccessDenied, AccessPolicy, LayerNotFound

        target, query, error = self.effective_target(request)
        if target is None:
            raise Http404(error or _("Choisissez un utilisateur."))
        layer = get_object_or_404(Layer, name=name)
        policy = AccessPolicy.for_user(target)
        rights = next(iter(policy.overview(Layer.objects.filter(pk=layer.pk))), None)
        context = {"layer": layer, "rights": rights, "query": query, "target": target}
        if rights is not None:
            try:
                source = policy.source(layer, Permission.VIEW)
            except (LayerNotFound, AccessDenied):  # pragma: no cover - overview said viewable
                source = None
            if source is not None and layer.is_vector:
                context["count"] = source.summary().count if source.exists() else 0
            context["operations"] = [str(op.label) for op in Operation
                                     if op.value in rights.operations]
            if self.effective_map_url and layer.is_vector:
                context["map_url"] = (reverse(f"admin:{self.effective_map_url}",
                                              args=[layer.name]) + "?" + query)
        return TemplateResponse(request, "admin/layers/accessrule/effective_layer.html",
                                self.effective_context(request, **context))


def communes_for_choice():
    from territory.models import Commune

    return list(Commune.objects.order_by("name").values_list("insee", "name"))


class PublicationInline(admin.TabularInline):
    model = Publication
    fk_name = "layer"
    fields = readonly_fields = ["version", "published_at", "mode", "published_by",
                                "feature_count", "source_name"]
    ordering = ["-version"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("publications (historique des versions)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Layer)
class LayerAdmin(OfflineMapAdmin):
    list_display = ["title", "name", "theme", "owner_display", "kind", "feature_count",
                    "geometry_type", "updated_at"]
    list_filter = ["theme", "kind", "geometry_type", "licence", "usage", "owner_commune"]
    search_fields = ["name", "title", "abstract"]
    list_select_related = ["theme", "owner_commune"]
    inlines = [AccessRuleInline, PublicationInline]
    actions = ["refresh_metadata"]  # and the map engine's "refresh_thumbnails" (maps.admin)
    readonly_fields = ["geometry_type", "feature_count", "attributes_table", "data_updated_at",
                       "thumbnail_preview", "created_at", "updated_at", "created_by", "uuid"]
    fieldsets = [
        (_("Description"), {"fields": [
            "name", "title", "abstract", "keywords", "theme", "owner_commune", "licence",
            "attribution", "update_frequency", "lineage",
        ]}),
        # ISO 19115 / INSPIRE discovery metadata: metadata.iso19139 writes them in the layer's
        # record (CSW /csw, GeoDCAT-AP); docs/metadonnees.md says what each portal reads.
        (_("Métadonnées pour les catalogues (ISO 19115, INSPIRE)"), {"fields": [
            "uuid", ("inspire_theme", "topic_category"), ("contact_organisation", "contact_email"),
            ("scale_denominator", "conformity"), ("temporal_start", "temporal_end"),
        ]}),
        (_("Usage"), {"fields": [
            "kind", "usage", "queryable", ("searchable", "search_fields"), "cacheable",
            "insee_field", "personal_columns",
        ]}),
        (_("Calculé à partir des données (lecture seule)"), {"fields": [
            ("geometry_type", "feature_count", "data_updated_at"), "extent", "attributes_table",
            "thumbnail_preview", ("created_at", "created_by", "updated_at"),
        ]}),
    ]

    def has_add_permission(self, request):
        return False  # a layer comes with its table: it is created by publishing data

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["name", "kind"]  # the table, URLs and services are named after it
        return fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "extent":
            field = db_field.formfield(widget=ReadOnlyOfflineMapWidget(), required=False)
            field.disabled = True
            return field
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        query = search_query(search_term)
        if query is not None:  # also the unaccented full-text search of the catalogue page
            queryset |= self.model.objects.filter(search_vector=query)
        return queryset, may_have_duplicates

    @admin.display(description=_("propriétaire"), ordering="owner_commune__name")
    def owner_display(self, layer):
        return layer.owner_commune.name if layer.owner_commune else _("intercommunalité")

    @admin.display(description=_("attributs"))
    def attributes_table(self, layer):
        if not layer.attributes:
            return "—"
        rows = format_html_join(
            "", "<tr><td><code>{}</code></td><td>{}</td></tr>",
            ((attribute.get("name", ""), attribute.get("type", "")) for attribute in layer.attributes),
        )
        return format_html(
            '<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("nom"), _("type"), rows,
        )

    @admin.display(description=_("vignette"))
    def thumbnail_preview(self, layer):
        if not layer.pk or not layer.is_vector:
            return "—"
        return format_html('<img src="{}" width="128" height="128" alt="">',
                           reverse("maps:layer_thumbnail", args=[layer.name]))

    @admin.action(description=_("Recalculer les métadonnées depuis les données"))
    def refresh_metadata(self, request, queryset):
        done = 0
        for layer in queryset.filter(kind=Layer.Kind.VECTOR):
            refresh_layer_metadata(layer)
            done += 1
        self.message_user(request, ngettext("%(n)d couche recalculée.", "%(n)d couches recalculées.",
                                            done) % {"n": done}, messages.SUCCESS)



class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the platform itself: GIS staff read them, never change them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["layer", "version", "mode", "published_at", "published_by", "feature_count",
                    "source_name"]
    list_filter = ["mode", "layer__theme"]
    search_fields = ["layer__name", "layer__title", "source_name"]
    list_select_related = ["layer", "published_by"]
    date_hierarchy = "published_at"


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["layer_name", "status", "progress", "source_name", "created_by", "created_at",
                    "finished_at"]
    list_filter = ["status"]
    search_fields = ["layer_name", "source_name", "message"]
    list_select_related = ["created_by"]


class RemoteLayerInline(admin.TabularInline):
    model = RemoteLayer
    fields = readonly_fields = ["identifier", "title", "published_as"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # remote layers come from the capabilities

    @admin.display(description=_("dans le catalogue"))
    def published_as(self, remote_layer):
        layer = Layer.objects.filter(remote_layer=remote_layer).first()
        if layer is None:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:layers_layer_change", args=[layer.pk]), layer.name)


class RemoteServiceAddForm(forms.ModelForm):
    """URL + protocol; the capabilities are read when the form is validated, so an unreachable or
    invalid service is reported on the form and nothing is saved."""

    class Meta:
        model = RemoteService
        fields = ["url", "protocol", "title"]
        help_texts = {"title": _("Vide : le titre annoncé par le service.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["url"].help_text = _(
            "Adresse du service (WMS, WFS) ou de son document de capacités WMTS, par exemple "
            "https://data.geopf.fr/wms-r/wms. Les paramètres SERVICE, REQUEST et VERSION sont "
            "ajoutés automatiquement.")
        self.description = None

    def validate_unique(self):
        pass  # checked in clean() against the URL as it will be stored

    def clean(self):
        cleaned = super().clean()
        url, protocol = cleaned.get("url"), cleaned.get("protocol")
        if not url or not protocol:
            return cleaned
        try:
            self.description = read_capabilities(url, protocol)
        except RemoteError as error:
            raise forms.ValidationError(error.message) from None
        if RemoteService.objects.filter(url=self.description.url, protocol=protocol).exists():
            raise forms.ValidationError(_("Ce service est déjà enregistré : relisez ses capacités "
                                          "depuis la liste des services distants."))
        return cleaned


@admin.register(RemoteService)
class RemoteServiceAdmin(admin.ModelAdmin):
    list_display = ["title", "protocol", "url", "provider", "layer_count", "capabilities_checked_at"]
    list_filter = ["protocol"]
    search_fields = ["title", "url", "provider"]
    inlines = [RemoteLayerInline]
    actions = ["refresh_capabilities", "choose_layers"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["url", "protocol", "version", "provider", "capabilities_checked_at",
                       "publish_link"]
    fields = ["title", "url", "protocol", "version", "abstract", "provider",
              "capabilities_checked_at", "publish_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(remote_layer_count=Count("layers"))

    @admin.display(description=_("couches"), ordering="remote_layer_count")
    def layer_count(self, service):
        return service.remote_layer_count

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RemoteServiceAddForm
            kwargs["fields"] = ["url", "protocol", "title"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["url", "protocol", "title"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        description = form.description
        obj.url = description.url
        obj.title = obj.title or description.title
        obj.created_by = request.user
        sync_service(obj, description)

    def response_add(self, request, obj, post_url_continue=None):
        count = obj.layers.count()
        self.message_user(request, ngettext(
            "Capacités lues : %(n)d couche disponible. Choisissez celles à publier dans le "
            "catalogue.", "Capacités lues : %(n)d couches disponibles. Choisissez celles à publier "
            "dans le catalogue.", count) % {"n": count}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:layers_remoteservice_publish", args=[obj.pk]))

    @admin.display(description=_("catalogue"))
    def publish_link(self, service):
        if not service.pk:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:layers_remoteservice_publish", args=[service.pk]),
                           _("Publier des couches dans le catalogue"))

    def get_urls(self):
        return [path("<int:service_id>/publier/",
                     self.admin_site.admin_view(self.publish_view),
                     name="layers_remoteservice_publish"), *super().get_urls()]

    @admin.action(description=_("Relire les capacités (métadonnées mises à jour)"))
    def refresh_capabilities(self, request, queryset):
        for service in queryset:
            try:
                created, updated, absent = refresh_service(service)
            except RemoteError as error:
                self.message_user(request, _("%(service)s : %(error)s")
                                  % {"service": service.title, "error": error.message},
                                  messages.ERROR)
                continue
            message = _("%(service)s : %(updated)d couche(s) mise(s) à jour, %(created)d "
                        "nouvelle(s)") % {"service": service.title, "updated": len(updated),
                                          "created": len(created)}
            if absent:
                message += _(" ; plus annoncée(s) par le service : %(names)s") % {
                    "names": ", ".join(absent)}
            self.message_user(request, message + ".", messages.SUCCESS)

    @admin.action(description=_("Publier des couches dans le catalogue"))
    def choose_layers(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choisissez un seul service."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:layers_remoteservice_publish",
                                            args=[queryset.get().pk]))

    def publish_view(self, request, service_id):
        service = get_object_or_404(RemoteService, pk=service_id)
        if not self.has_change_permission(request, service) \
                or not request.user.has_perm("layers.change_layer"):
            raise PermissionDenied
        form = RemoteLayerPublishForm(service, request.POST or None)
        if request.method == "POST" and form.is_valid():
            published = [publish(remote_layer, usage=form.cleaned_data["usage"],
                                 theme=form.cleaned_data["theme"],
                                 audience=form.cleaned_data["audience"], user=request.user)
                         for remote_layer in form.cleaned_data["layers"]]
            self.message_user(request, ngettext(
                "%(n)d couche publiée dans le catalogue : %(names)s. Réglez ses droits d'accès "
                "dans sa fiche.", "%(n)d couches publiées dans le catalogue : %(names)s. Réglez "
                "leurs droits d'accès dans leur fiche.", len(published))
                % {"n": len(published), "names": ", ".join(layer.name for layer in published)},
                messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:layers_layer_changelist") + "?kind__exact=remote")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": _("Publier des couches de « %(service)s »") % {"service": service.title},
            "service": service, "form": form, "media": self.media + form.media,
            "published": Layer.objects.filter(remote_layer__service=service).order_by("name"),
        }
        return TemplateResponse(request, "admin/layers/remoteservice/publish.html", context)


class RemoteLayerChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, remote_layer):
        return f"{remote_layer.title} ({remote_layer.identifier})"


class RemoteLayerPublishForm(forms.Form):
    layers = RemoteLayerChoices(queryset=RemoteLayer.objects.none(),
                                widget=forms.CheckboxSelectMultiple, label=_("Couches à publier"))
    usage = forms.ChoiceField(label=_("Usage"), choices=Layer.Usage.choices,
                              initial=Layer.Usage.OVERLAY)
    theme = forms.ModelChoiceField(label=_("Thème"), queryset=Theme.objects.all(), required=False)
    audience = forms.ChoiceField(label=_("Consultation"), initial="admins", choices=[
        ("admins", _("administrateurs SIG seulement (règles à ajouter ensuite)")),
        ("authenticated", _("tout utilisateur connecté")),
        ("public", _("tout le monde, y compris le public anonyme")),
    ])

    def __init__(self, service, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layers"].queryset = service.layers.filter(
            catalogue_layer__isnull=True).order_by("title")


@admin.register(RemoteLayer)
class RemoteLayerAdmin(admin.ModelAdmin):
    list_display = ["title", "identifier", "service"]
    list_filter = ["service"]
    search_fields = ["title", "identifier", "service__title"]
    readonly_fields = ["service", "identifier", "crs", "formats", "styles", "wgs84_bbox",
                       "metadata"]

    def has_add_permission(self, request):
        return False  # read from the service's capabilities


# The style administration (French form, SLD import and export) lives in its own module; importing
# it here registers it when Django discovers the admin modules.
from . import admin_styles  # noqa: E402,F401


@admin.register(PersonalDataRead)
class PersonalDataReadAdmin(admin.ModelAdmin):
    """« Qui a lu quoi » for the data protection officer: filter, then export (CSV). Append-only:
    nothing can be added, changed or deleted here (layers.access_log)."""
    list_display = ["read_at", "username", "layer_name", "columns_display", "rows", "protocol",
                    "address"]
    list_filter = ["layer_name", "protocol", ("read_at", admin.DateFieldListFilter)]
    search_fields = ["username", "layer_name"]
    date_hierarchy = "read_at"
    actions = ["export_csv"]

    @admin.display(description=_("colonnes personnelles"))
    def columns_display(self, read):
        return ", ".join(read.columns)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Exporter les lectures choisies (CSV)"))
    def export_csv(self, request, queryset):
        import csv

        from django.http import HttpResponse

        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="lectures-donnees-personnelles.csv"'
        writer = csv.writer(response)
        writer.writerow(["lu_le", "identifiant", "couche", "colonnes", "objets", "protocole",
                         "adresse"])
        for read in queryset.order_by("read_at", "pk"):
            writer.writerow([read.read_at.isoformat(), read.username, read.layer_name,
                             " ".join(read.columns), "" if read.rows is None else read.rows,
                             read.protocol, read.address or ""])
        return response
