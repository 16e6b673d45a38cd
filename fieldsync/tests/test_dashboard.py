"""The SPANC dashboard: figures against hand counts, P301.3, filters, access and CSV export."""
import csv
import datetime
import io

import pytest
from django.test import Client

from fieldsync.models import ControlStatus
from fieldsync.verdict import add_years

from . import manager_data
from .conftest import GUERANDE, LA_BAULE, make_installation, user

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/spanc/tableau-de-bord/"


@pytest.fixture
def dataset(db):
    """Guérande and La Baule installations whose figures are counted by hand in the tests."""
    ctl = manager_data.control
    g = {name: make_installation(GUERANDE, f"{name} rue de Guérande") for name in "ABCDEI"}
    lb = {name: make_installation(LA_BAULE, f"{name} avenue de La Baule") for name in "FGHJK"}
    ctl(g["A"], visit_date=D(2025, 3, 10))                                    # compliant
    ctl(g["B"], defects={"contact_direct"}, visit_date=D(2025, 5, 20))         # danger
    ctl(g["C"], defects={"contact_direct"}, visit_date=D(2023, 6, 1))          # danger, then
    ctl(g["C"], kind="execution", visit_date=D(2025, 6, 15))                   # works done
    ctl(g["D"], kind="conception", visit_date=D(2025, 2, 1))                   # a project only
    ctl(g["E"], status=ControlStatus.ASSIGNED)                                 # programmed
    first = ctl(g["I"], visit_date=D(2025, 4, 4))                              # corrected by
    correction = ctl(g["I"], defects={"vecteurs"}, visit_date=D(2025, 4, 4))   # a danger
    correction.supersedes = first
    correction.save()
    ctl(lb["F"], defects={"installation_incomplete"}, visit_date=D(2024, 9, 9))  # non conforme
    ctl(lb["G"], visit_date=D(2025, 1, 5))                                     # compliant
    ctl(lb["G"], status=ControlStatus.REJECTED, visit_date=D(2025, 2, 5))      # not counted
    ctl(lb["H"], status=ControlStatus.SUBMITTED, visit_date=D(2025, 8, 8))     # programmed
    ctl(lb["J"], defects={"usure"}, visit_date=D(2022, 3, 3))                  # recommendations
    k = ctl(lb["K"], defects={"installation_incomplete"}, visit_date=D(2021, 7, 1))
    assert k.next_control_on == add_years(D(2021, 7, 1), 4)                    # due July 2025
    return g, lb


def get(username, **params):
    client = Client()
    if username:
        client.force_login(user(username))
    return client.get(URL, params)


def by_insee(data):
    return {c["insee"]: c for c in data["communes"]}


def test_figures_equal_hand_counts(dataset):
    response = get("responsable.spanc", annee=2025)
    assert response.status_code == 200
    data = response.context["data"]
    done = [m["done"] for m in data["months"]]
    assert done == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]     # G, D, A, I (once), B, C
    assert [m["due"] for m in data["months"]] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]   # K
    kinds = {k["label"]: (k["done"], k["open"]) for k in data["kinds"]}
    assert kinds["Contrôle périodique de bon fonctionnement et d'entretien"] == (4, 2)
    assert kinds["Vérification de l'exécution"] == (1, 0)
    assert kinds["Examen préalable de la conception"] == (1, 0)
    assert kinds["Contrôle en vue de la vente"] == (0, 0)
    communes = by_insee(data)
    assert len(communes) == 15
    guerande, la_baule = communes[GUERANDE], communes[LA_BAULE]
    # Guérande: A, B, C (latest: works done), I (latest: the correction) checked; D a design.
    assert (guerande["done"], guerande["open"], guerande["due"], guerande["overdue"]) == (5, 1, 0, 0)
    assert (guerande["checked"], guerande["compliant"], guerande["rate"]) == (4, 2, 50.0)
    # La Baule: F, G, J, K checked; G and J (recommendations) compliant; K overdue.
    assert (la_baule["done"], la_baule["open"], la_baule["due"], la_baule["overdue"]) == (1, 1, 1, 1)
    assert (la_baule["checked"], la_baule["compliant"], la_baule["rate"]) == (4, 2, 50.0)
    assert communes["44211"]["rate"] is None and communes["44211"]["checked"] == 0
    assert data["total"] == {"done": 6, "open": 2, "due": 1, "overdue": 1, "checked": 8,
                             "compliant": 4, "rate": 50.0}


def test_p301_3_is_counted_up_to_the_31st_of_december_of_the_year(dataset):
    data = get("admin.sig", annee=2024).context["data"]
    communes = by_insee(data)
    assert (communes[GUERANDE]["checked"], communes[GUERANDE]["compliant"]) == (1, 0)  # C: 2023
    assert (communes[LA_BAULE]["checked"], communes[LA_BAULE]["compliant"]) == (3, 1)  # F J K
    assert communes[LA_BAULE]["rate"] == 33.3
    assert data["total"]["done"] == 1 and data["months"][8]["done"] == 1             # F
    assert data["total"]["rate"] == 25.0


def test_commune_filter(dataset):
    data = get("responsable.spanc", annee=2025, commune=LA_BAULE).context["data"]
    assert [c["insee"] for c in data["communes"]] == [LA_BAULE]
    assert data["total"]["done"] == 1 and data["total"]["rate"] == 50.0
    assert sum(m["done"] for m in data["months"]) == 1
    kinds = {k["label"]: k["open"] for k in data["kinds"]}
    assert kinds["Contrôle périodique de bon fonctionnement et d'entretien"] == 1     # H only


def test_access_rules(dataset):
    assert get(None).status_code == 302                                       # to the login
    agent = get("agent.guerande", annee=2025)
    assert [c["insee"] for c in agent.context["data"]["communes"]] == [GUERANDE]
    # Another commune cannot be asked for: the filter refuses it, the figures stay theirs.
    foreign = get("agent.guerande", annee=2025, commune=LA_BAULE)
    assert foreign.status_code == 200 and foreign.context["form"].errors
    assert [c["insee"] for c in foreign.context["data"]["communes"]] == [GUERANDE]
    assert "La Baule" not in foreign.content.decode()
    reader = get("lecteur", annee=2025)                                       # an elected official
    assert [c["insee"] for c in reader.context["data"]["communes"]] == ["44211"]
    assert reader.context["data"]["total"]["checked"] == 0
    assert len(get("admin.sig").context["data"]["communes"]) == 15
    assert len(get("controleur.spanc").context["data"]["communes"]) == 15


def test_bad_year_gets_a_french_message_not_an_error(dataset):
    response = get("responsable.spanc", annee="deux-mille")
    assert response.status_code == 200
    assert "Saisissez un nombre entier" in response.content.decode()


def test_page_has_accessible_svg_charts_and_data_tables(dataset):
    page = get("responsable.spanc", annee=2025).content.decode()
    assert page.count('role="img"') == 3
    assert '<title id="chart-rates-title">Taux de conformité P301.3 au 31 décembre 2025</title>' in page
    assert '<desc id="chart-months-desc">' in page
    assert "<rect" in page and "http://" not in page.split("<svg", 1)[1].split("</svg>")[0] \
        .replace("http://www.w3.org/2000/svg", "")
    assert page.count('<table class="data">') == 3
    assert "50,0 %" in page


def test_csv_export(dataset):
    response = get("responsable.spanc", annee=2025, format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "spanc-tableau-de-bord-2025-toutes.csv" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["indicateur", "annee", "code_insee", "commune", "mois", "nature", "valeur"]
    table = {(r[0], r[2], r[4], r[5]): r[6] for r in rows[1:]}
    assert table[("P301.3", GUERANDE, "", "")] == "50.0"
    assert table[("P301.3", "", "", "")] == "50.0"                       # the whole
    assert table[("installations_controlees", LA_BAULE, "", "")] == "4"
    assert table[("controles_realises", "", "6", "")] == "1"              # June
    assert table[("echeances", "", "7", "")] == "1"                       # July
    assert table[("controles_programmes", "", "",
                  "Contrôle périodique de bon fonctionnement et d'entretien")] == "2"
    only = get("agent.labaule", annee=2025, format="csv").content.decode("utf-8")
    assert GUERANDE not in only and LA_BAULE in only
