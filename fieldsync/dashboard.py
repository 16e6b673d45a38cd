"""The SPANC dashboard (/spanc/tableau-de-bord/): controls done and due, compliance rate P301.3.

Who sees what (decision, see docs/guide-spanc.md): the figures are aggregates without personal
data, of the kind the service publishes each year (SISPEA). Every signed-in account may open the
dashboard; a person attached to a commune sees that commune only, a member of the
intercommunality (and an administrator) every commune. Elected officials are given a « Lecteur »
(viewer) account: of the intercommunality for the vice-president in charge, of their commune for
a mayor.

Figures, for a year and the chosen communes, all computed by PostgreSQL (aggregates):
- *contrôles réalisés*: validated controls visited that year (a validated correction replaces
  the control it corrects: counted once), by month, by kind, by commune;
- *contrôles programmés*: controls planned, assigned, in progress or transmitted (not yet
  validated), by kind and by commune;
- *échéances*: installations whose current verdict (latest validated control) sets the next
  periodic control in that year, by month and by commune; *en retard*: that date is past;
- *P301.3*, taux de conformité des dispositifs d'ANC: installations checked since the creation
  of the service up to 31 December of the year whose latest verdict is compliant (conforming, or
  brought into conformity: a later control after works), over all installations checked. A
  verdict counts as compliant when its conclusion is marked « conforme (indicateur P301.3) »
  (administration › Conclusions). The design exam judges a project, not a device: it is not
  counted (it is the kind that sets no periodic control).
"""
import csv
import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dates import MONTHS, MONTHS_3
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from territory.models import Commune

from . import charts, scope

OPEN_STATUSES = ("planned", "assigned", "in_progress", "submitted")

# Validated controls not replaced by a validated correction, in the chosen communes.
CURRENT = """
current AS (
    SELECT ctl.id, ctl.installation_id, ctl.kind_id, ctl.visit_date, ctl.next_control_on,
           ctl.conclusion_id, i.commune_id
    FROM fieldsync_control ctl
    JOIN fieldsync_installation i ON i.id = ctl.installation_id
    WHERE ctl.status = 'validated' AND i.commune_id = ANY(%(communes)s)
      AND NOT EXISTS (SELECT 1 FROM fieldsync_control n
                      WHERE n.supersedes_id = ctl.id AND n.status = 'validated')
),
latest AS (  -- the verdict in force of each installation
    SELECT DISTINCT ON (installation_id) installation_id, commune_id, next_control_on
    FROM current ORDER BY installation_id, visit_date DESC NULLS LAST, id DESC
)"""

MONTHLY_SQL = f"""
WITH {CURRENT}
SELECT m.month,
       (SELECT count(*) FROM current c WHERE c.visit_date >= %(start)s AND c.visit_date < %(end)s
          AND extract(month FROM c.visit_date) = m.month),
       (SELECT count(*) FROM latest l WHERE l.next_control_on >= %(start)s
          AND l.next_control_on < %(end)s AND extract(month FROM l.next_control_on) = m.month)
FROM generate_series(1, 12) AS m(month) ORDER BY m.month
"""

KINDS_SQL = f"""
WITH {CURRENT}
SELECT k.label,
       (SELECT count(*) FROM current c WHERE c.kind_id = k.id
          AND c.visit_date >= %(start)s AND c.visit_date < %(end)s),
       (SELECT count(*) FROM fieldsync_control o
          JOIN fieldsync_installation i ON i.id = o.installation_id
          WHERE o.kind_id = k.id AND o.status = ANY(%(open)s)
            AND i.commune_id = ANY(%(communes)s))
FROM fieldsync_controlkind k ORDER BY k."order", k.code
"""

COMMUNES_SQL = f"""
WITH {CURRENT},
checked AS (  -- P301.3: latest verdict up to 31 December, devices only (not design exams)
    SELECT DISTINCT ON (c.installation_id) c.installation_id, c.commune_id, cc.compliant
    FROM current c
    JOIN fieldsync_controlkind k ON k.id = c.kind_id
    JOIN fieldsync_conclusion cc ON cc.id = c.conclusion_id
    WHERE k.periodic AND c.visit_date < %(end)s
    ORDER BY c.installation_id, c.visit_date DESC, c.id DESC
)
SELECT t.insee, t.name,
       (SELECT count(*) FROM current c WHERE c.commune_id = t.id
          AND c.visit_date >= %(start)s AND c.visit_date < %(end)s),
       (SELECT count(*) FROM fieldsync_control o
          JOIN fieldsync_installation i ON i.id = o.installation_id
          WHERE i.commune_id = t.id AND o.status = ANY(%(open)s)),
       (SELECT count(*) FROM latest l WHERE l.commune_id = t.id
          AND l.next_control_on >= %(start)s AND l.next_control_on < %(end)s),
       (SELECT count(*) FROM latest l WHERE l.commune_id = t.id
          AND l.next_control_on < %(today)s),
       (SELECT count(*) FROM checked k WHERE k.commune_id = t.id),
       (SELECT count(*) FROM checked k WHERE k.commune_id = t.id AND k.compliant)
FROM territory_commune t WHERE t.id = ANY(%(communes)s) ORDER BY t.name
"""


def rate(compliant, checked):
    return round(100 * compliant / checked, 1) if checked else None


def allowed_communes(user):
    """The communes whose figures the user may see."""
    if not (user.is_authenticated and user.is_active):
        return Commune.objects.none()
    if user.is_gis_admin or not user.commune_id:
        return Commune.objects.all()
    return Commune.objects.filter(pk=user.commune_id)


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def figures(year, commune_ids, today=None):
    """Every figure of the dashboard for a year and a list of commune ids."""
    today = today or timezone.localdate()
    params = {"communes": list(commune_ids), "start": datetime.date(year, 1, 1),
              "end": datetime.date(year + 1, 1, 1), "open": list(OPEN_STATUSES),
              "today": today}
    months = [{"month": m, "label": MONTHS[m], "short": MONTHS_3[m], "done": done, "due": due}
              for m, done, due in _rows(MONTHLY_SQL, params)]
    kinds = [{"label": label, "done": done, "open": open_}
             for label, done, open_ in _rows(KINDS_SQL, params)]
    communes = [{"insee": insee, "name": name, "done": done, "open": open_, "due": due,
                 "overdue": overdue, "checked": checked, "compliant": compliant,
                 "rate": rate(compliant, checked)}
                for insee, name, done, open_, due, overdue, checked, compliant
                in _rows(COMMUNES_SQL, params)]
    total = {key: sum(c[key] for c in communes)
             for key in ("done", "open", "due", "overdue", "checked", "compliant")}
    total["rate"] = rate(total["compliant"], total["checked"])
    return {"year": year, "months": months, "kinds": kinds, "communes": communes,
            "total": total}


class FilterForm(forms.Form):
    annee = forms.IntegerField(label=_("Année"), min_value=1990, max_value=2100, required=False)
    commune = forms.ModelChoiceField(label=_("Commune"), queryset=Commune.objects.none(),
                                     required=False, to_field_name="insee",
                                     empty_label=_("Toutes vos communes"))

    def __init__(self, data, communes):
        super().__init__(data)
        self.fields["commune"].queryset = communes


def _percent(value):
    return "—" if value is None else f"{value:.1f} %".replace(".", ",")


def chart_set(data):
    year = data["year"]
    monthly = charts.bar_chart(
        "chart-months", _t("Contrôles réalisés et échéances par mois, %(year)d") % {"year": year},
        _t("Barres par mois : contrôles validés dont la visite a eu lieu ce mois-là, et "
           "installations dont le prochain contrôle périodique tombe ce mois-là. Les valeurs "
           "figurent dans le tableau qui suit."),
        [m["short"] for m in data["months"]],
        [charts.Series(_t("Réalisés"), [m["done"] for m in data["months"]], "#1f5f8b"),
         charts.Series(_t("À échéance"), [m["due"] for m in data["months"]], "#e59866")])
    kinds = charts.bar_chart(
        "chart-kinds", _t("Contrôles par nature, %(year)d") % {"year": year},
        _t("Barres par nature de contrôle : réalisés dans l'année et programmés (pas encore "
           "validés). Les valeurs figurent dans le tableau qui suit."),
        [str(index + 1) for index in range(len(data["kinds"]))],
        [charts.Series(_t("Réalisés"), [k["done"] for k in data["kinds"]], "#1f5f8b"),
         charts.Series(_t("Programmés"), [k["open"] for k in data["kinds"]], "#a9cce3")])
    rates = charts.rate_chart(
        "chart-rates", _t("Taux de conformité P301.3 au 31 décembre %(year)d") % {"year": year},
        _t("Une barre par commune : part des installations contrôlées depuis la création du "
           "service jugées conformes ou mises en conformité. Les valeurs figurent dans le "
           "tableau qui suit."),
        [(c["name"], c["rate"], _percent(c["rate"])) for c in data["communes"]]
        + [(_t("Ensemble"), data["total"]["rate"], _percent(data["total"]["rate"]))])
    return {"months": monthly, "kinds": kinds, "rates": rates}


CSV_HEADER = ["indicateur", "annee", "code_insee", "commune", "mois", "nature", "valeur"]


def csv_response(data, scope_label):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="spanc-tableau-de-bord-'
                                       f'{data["year"]}-{scope_label}.csv"')
    response.write("\ufeff")  # spreadsheet programs then read UTF-8
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    year = data["year"]
    for month in data["months"]:
        writer.writerow(["controles_realises", year, "", "", month["month"], "", month["done"]])
        writer.writerow(["echeances", year, "", "", month["month"], "", month["due"]])
    for kind in data["kinds"]:
        writer.writerow(["controles_realises", year, "", "", "", kind["label"], kind["done"]])
        writer.writerow(["controles_programmes", year, "", "", "", kind["label"], kind["open"]])
    for commune in data["communes"] + [{"insee": "", "name": _t("Ensemble"), **data["total"]}]:
        for key, name in (("done", "controles_realises"), ("open", "controles_programmes"),
                          ("due", "echeances"), ("overdue", "en_retard"),
                          ("checked", "installations_controlees"),
                          ("compliant", "installations_conformes")):
            writer.writerow([name, year, commune["insee"], commune["name"], "", "", commune[key]])
        writer.writerow(["P301.3", year, commune["insee"], commune["name"], "", "",
                         "" if commune["rate"] is None else f'{commune["rate"]:.1f}'])
    return response


@login_required
def dashboard(request):
    allowed = allowed_communes(request.user)
    form = FilterForm(request.GET or None, allowed)
    this_year = timezone.localdate().year
    year, chosen = this_year, None
    if form.is_bound and form.is_valid():
        year = form.cleaned_data["annee"] or this_year
        chosen = form.cleaned_data["commune"]
    communes = [chosen] if chosen else list(allowed)
    data = figures(year, [c.pk for c in communes])
    if request.GET.get("format") == "csv":
        return csv_response(data, chosen.insee if chosen else "toutes")
    query = request.GET.copy()
    query["format"] = "csv"
    return render(request, "fieldsync/statistics.html", {
        "form": form, "data": data, "charts": chart_set(data), "chosen": chosen,
        "single_commune": allowed.count() == 1, "csv_query": query.urlencode(),
        "is_manager": scope.is_manager(request.user),
        "years": range(this_year + 1, this_year - 10, -1),
    })
