"""Report types, placement, routing, and the two published layers under the access policy."""
import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from layers.access import AccessPolicy, LayerNotFound
from layers.tables import describe_columns
from signalements import publication
from signalements.models import Category, Report, Service, Status
from signalements.reporting import ReportError, Submission, create_report, storage_point
from signalements.routing import PlacementError, check_placement, route

pytestmark = pytest.mark.django_db

GUERANDE = (-2.4286, 47.3281)       # the old town, inside Guérande
LA_BAULE = (-2.3920, 47.2860)
OFFSHORE = (-2.70, 47.20)           # the Atlantic, outside every commune


def features(user, layer):
    source = AccessPolicy.for_user(user).source(layer)
    return source.features(source.query(crs=4326))


def test_demo_loads_types_services_and_reports(signalements_demo):
    assert Category.objects.filter(parent__isnull=False).count() >= 5
    assert Service.objects.get(code="guerande-st").members.filter(
        username="agent.guerande").exists()
    assert Report.objects.count() >= 10
    assert set(Report.objects.values_list("status", flat=True)) >= {
        Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED}
    # Each demo report reached the service of its commune or of its category.
    for report in Report.objects.select_related("service", "category", "commune"):
        if report.category.code == "depot-sauvage":
            assert report.service.code == "cap-dechets"
        elif report.commune.insee == "44069" and report.category.code != "zone-activite":
            assert report.service.code == "guerande-st"


def test_routing_by_commune_category_and_zone(signalements_demo):
    pothole = Category.objects.get(code="nid-de-poule")
    dumping = Category.objects.get(code="depot-sauvage")
    point = storage_point(*GUERANDE)
    commune = check_placement(pothole, point)
    assert commune.insee == "44069"
    assert route(pothole, point, commune).code == "guerande-st"
    assert route(dumping, point, commune).code == "cap-dechets"
    labaule = storage_point(*LA_BAULE)
    assert route(pothole, labaule, check_placement(pothole, labaule)).code == "labaule-st"
    # A commune without its own service: the intercommunality's reception.
    turballe = Report.objects.filter(commune__insee="44211").first()
    assert turballe.service.code == "cap-accueil"
    # The zone category is accepted inside a zone only, and goes to the economic service.
    zone_report = Report.objects.get(category__code="zone-activite")
    assert zone_report.service.code == "cap-zones-activite"
    with pytest.raises(PlacementError, match="zones"):
        check_placement(Category.objects.get(code="zone-activite"), storage_point(*GUERANDE))


def test_outside_the_territory_is_refused_and_nothing_written(signalements_demo):
    before = Report.objects.count()
    with pytest.raises(ReportError) as error:
        create_report(Submission(category=Category.objects.get(code="nid-de-poule"),
                                 longitude=OFFSHORE[0], latitude=OFFSHORE[1],
                                 description="Trou", attributes={"taille": "petit"}))
    assert "territoire" in error.value.errors["location"]
    assert Report.objects.count() == before


def test_typed_fields_required_and_choices(signalements_demo):
    pothole = Category.objects.get(code="nid-de-poule")
    with pytest.raises(ReportError) as error:
        create_report(Submission(category=pothole, longitude=GUERANDE[0], latitude=GUERANDE[1],
                                 description="Trou", attributes={"dangereux": "peut-être"}))
    assert set(error.value.errors) == {"taille", "dangereux"}
    report = create_report(Submission(category=pothole, longitude=GUERANDE[0],
                                      latitude=GUERANDE[1], description="Trou",
                                      attributes={"taille": "grand", "inconnu": "x"}))
    assert report.attributes == {"taille": "grand"}
    assert report.due_on is not None  # the category's resolution delay


def test_parent_category_is_not_reportable(signalements_demo):
    with pytest.raises(ReportError) as error:
        create_report(Submission(category=Category.objects.get(code="voirie"),
                                 longitude=GUERANDE[0], latitude=GUERANDE[1], description="x"))
    assert "category" in error.value.errors


def test_public_layer_has_no_personal_data_and_hides_rejected(signalements_demo):
    columns = {name for name, _type in describe_columns("layers_data", publication.PUBLIC_LAYER)}
    assert not columns & {"description", "contact_email", "contact_name", "contact_phone",
                          "adresse", "agent"}
    rows = features(AnonymousUser(), publication.PUBLIC_LAYER)
    shown = {row["properties"]["reference"] for row in rows}
    visible = Report.objects.exclude(status__in=[Status.REJECTED, Status.DUPLICATE])
    assert shown == {r.reference for r in visible}
    assert Report.objects.filter(status=Status.REJECTED).exists()
    text = str(rows)
    for report in Report.objects.exclude(contact_email=""):
        assert report.contact_email not in text


def test_services_layer_per_commune(signalements_demo):
    anonymous = AccessPolicy.for_user(AnonymousUser())
    with pytest.raises(LayerNotFound):
        anonymous.grant(publication.SERVICES_LAYER)
    guerande = features(User.objects.get(username="agent.guerande"), publication.SERVICES_LAYER)
    assert guerande and {f["properties"]["code_insee"] for f in guerande} == {"44069"}
    labaule = features(User.objects.get(username="agent.labaule"), publication.SERVICES_LAYER)
    assert {f["properties"]["code_insee"] for f in labaule} == {"44055"}
    admin = AccessPolicy.for_user(User.objects.get(username="admin.sig"))
    assert admin.source(publication.SERVICES_LAYER).count() == Report.objects.count()
    for feature in guerande + labaule:
        assert "@" not in str(feature["properties"])


def test_rebuild_matches_publish(signalements_demo):
    admin = User.objects.get(username="admin.sig")
    before = sorted(str(f) for f in features(admin, publication.SERVICES_LAYER))
    publication.rebuild()
    assert sorted(str(f) for f in features(admin, publication.SERVICES_LAYER)) == before


def test_demo_is_idempotent(signalements_demo):
    from signalements.demo import load_signalements_demo

    counts = (Report.objects.count(), Service.objects.count(), Category.objects.count())
    assert load_signalements_demo() == 0
    assert (Report.objects.count(), Service.objects.count(), Category.objects.count()) == counts
    # Every demo report has its audit trail, starting with its reception.
    for report in Report.objects.all():
        assert report.events.order_by("at", "id").first().kind == "created"


def test_catalogue_count_and_extent_follow_each_change(signalements_demo):
    from layers.models import Layer
    from signalements import processing

    def exact(name):
        layer = Layer.objects.get(name=name)
        source = AccessPolicy.for_user(User.objects.get(username="admin.sig")).source(name)
        return layer.feature_count == source.count()

    report = create_report(Submission(category=Category.objects.get(code="nid-de-poule"),
                                      longitude=GUERANDE[0], latitude=GUERANDE[1],
                                      description="Trou", attributes={"taille": "petit"}))
    assert exact(publication.PUBLIC_LAYER) and exact(publication.SERVICES_LAYER)
    processing.set_status(report, Status.REJECTED, None, "Hors voirie publique")
    assert exact(publication.PUBLIC_LAYER) and exact(publication.SERVICES_LAYER)
    layer = Layer.objects.get(name=publication.PUBLIC_LAYER)
    point = report.location
    assert layer.extent.contains(point) or not Report.objects.exclude(
        status__in=[Status.REJECTED, Status.DUPLICATE]).filter(location=point).exists()
