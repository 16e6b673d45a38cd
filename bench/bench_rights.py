"""Benchmark of the access rules at scale (issue 14, « Scale »): 500 layers × 30 rules each ×
2,000 users, the figures GeoFence and GeoNode users complain about.

On a PostGIS database of its own (default capgeo_bench_rights, created by migrations the first
time and kept), with the demo territory and accounts, the synthetic catalogue is set up afresh
each run: 500 vector layers (catalogue rows with four attributes, and a small table each: a point
per town hall), 30 rules each (roles, communes, named users, groups, public with hidden
columns, a DENY of higher priority, a dated rule, an attribute condition, an area), 2,000 users
spread over the 15 communes, the roles and 20 groups. Measured in the process (Django test
client for HTTP), median and p95:

1. the layers a user may view (AccessPolicy.layers: listings, capabilities), cold;
2. WMS GetCapabilities over HTTP for any user (the 500 layers' rules evaluated);
3. the admin's rights screens: a layer's admin page with its 30 rules, and « Ce que voit un
   utilisateur » for a user (every layer he may view, its operations and columns);
4. the rule evaluation of a WMS/WFS request once warm (maps.decisions.source: the catalogue
   counter and the per-worker cache), next to the cold evaluation (AccessPolicy.source);
5. a rule change in effect: the next call after a change sees it (catalogue counter), timed.

    .venv/bin/python bench/bench_rights.py            # prints the figures
    .venv/bin/python bench/bench_rights.py --write    # … and writes its section of
                                                      #     docs/benchmarks.md
"""
import argparse
import os
import random
import time

import common  # the project on sys.path, its settings; Django is set up in main()

SECTION = "## Droits d'accès à grande échelle (`bench/bench_rights.py`)"
PREFIX = "bench_droits_"
NOTES = """Lecture (03/12/2026, machine calme, charge ≈ 1) : **tous les objectifs sont tenus**, p95 compris.
Capacités WMS d'un utilisateur quelconque 64-65 ms en médiane, 109-111 ms au p95 (≤ 300) ; chaque
utilisateur y est une audience froide. Page d'une couche et de ses 30 règles 720-739 / 736-764 ms
(≤ 1 000) : c'est surtout le rendu des 30 formulaires de l'administration Django (740 Ko de
HTML) ; ses requêtes sont passées de 136 à 49 (communes, utilisateurs et groupes des règles lus en une
fois). « Ce que voit un utilisateur » 98-104 / 191-192 ms : la politique évalue toutes les couches
à la fois (`AccessPolicy.overview`, deux requêtes quel que soit le nombre de couches, les règles
lues en tuples), le compte et la carte des objets sont sur la page de chaque couche. L'évaluation
d'une requête à chaud (0,1 ms en médiane, 0,2 au plus au p95) : une requête relit le compteur du
catalogue et prend la décision gardée pour son audience, sans autre requête (les appartenances aux
groupes et les utilisateurs nommés sont relus une fois par version du catalogue). La mesure passe
par un seul client de test (un processus serveur charge ses intergiciels une fois). Les mesures
précédentes, sous une charge de 7 à 11 pour 2 cœurs, donnaient la page d'une couche au-dessus de
1 s et le p95 des capacités au-dessus de 300 ms : la charge, pas le code (tableau ci-dessous).

Avant / après le calcul ensembliste (03/12/2026, ce script sur le code d'avant — commit 26100ef —
puis sur celui d'après, l'un juste après l'autre ; charge 7,0 → 6,8 puis 6,8 → 7,9) :

| Opération | Avant : médiane / p95 (ms) | Après : médiane / p95 (ms) |
|---|---|---|
| « Ce que voit un utilisateur » (500 couches) | 4 846,8 / 6 763,8 | 345,9 / 630,7 |
| Page d'une couche et de ses 30 règles | 1 507,2 / 1 815,2 | 2 230,0 / 2 736,5 |
| WMS GetCapabilities d'un utilisateur quelconque | 94,5 / 174,7 | 270,4 / 561,9 |

Les deux dernières lignes ne changent pas de code entre les deux mesures (sinon la lecture groupée
des liens des règles) : leur écart est celui de la charge. Reprises à l'alternée (avant, après,
avant, après ; charge 8,4 à 11,5), la page d'une couche : 3 570 / 2 073 / 4 084 / 2 640 ms
en médiane, les capacités : 202 / 192 / 261 / 186 ms."""


def build(layers_count, rules_per_layer, users_count):
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from accounts.models import Role, User
    from layers.models import DATA_SCHEMA, AccessRule, Layer, Theme
    from layers.tables import create_table, qualified
    from territory.models import Commune

    with transaction.atomic():
        Layer.objects.filter(name__startswith=PREFIX).delete()  # rules cascade
        User.objects.filter(username__startswith=PREFIX).delete()
        Group.objects.filter(name__startswith=PREFIX).delete()
    communes = list(Commune.objects.order_by("insee"))
    groups = Group.objects.bulk_create([Group(name=f"{PREFIX}{i}") for i in range(20)])
    roles = [r for r in Role.values if r != Role.GIS_ADMIN]
    users = User.objects.bulk_create([
        User(username=f"{PREFIX}{i}", role=roles[i % len(roles)],
             commune=communes[i % (len(communes) + 1)] if i % (len(communes) + 1) < len(communes)
             else None, password="!") for i in range(users_count)])
    User.groups.through.objects.bulk_create([
        User.groups.through(user_id=user.pk, group_id=groups[i % len(groups)].pk)
        for i, user in enumerate(users) if i % 3 == 0])
    with connection.cursor() as cursor:  # the tables of an earlier run
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename "
                       "LIKE %s", [DATA_SCHEMA, PREFIX + "%"])
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE {qualified(DATA_SCHEMA, table)}")
    theme = Theme.objects.order_by("order").first()
    attributes = [{"name": "code_insee", "type": "character varying(5)"},
                  {"name": "nom", "type": "text"}, {"name": "proprietaire", "type": "text"},
                  {"name": "surface", "type": "numeric"}]
    layers = Layer.objects.bulk_create([
        Layer(name=f"{PREFIX}{i:03d}", title=f"Couche de mesure {i}", theme=theme,
              attributes=attributes, insee_field="code_insee", geometry_type="POLYGON",
              personal_columns=["proprietaire"])
        for i in range(layers_count)])
    # Each layer's table: a point at each town hall (the rights screen counts the rows a user
    # gets through his read filter).
    with connection.cursor() as cursor:
        for layer in layers:
            create_table(DATA_SCHEMA, layer.name, [(a["name"], a["type"]) for a in attributes],
                         "POINT")
            cursor.execute(
                f"INSERT INTO {qualified(DATA_SCHEMA, layer.name)} (code_insee, nom, "
                "proprietaire, surface, geom) SELECT c.insee, 'Mairie de ' || c.name, "
                "'Propriétaire ' || c.insee, 1.0, h.location FROM territory_townhall h "
                "JOIN territory_commune c ON c.id = h.commune_id")
    random.seed(14)
    rules, communes_links, users_links, groups_links = [], [], [], []
    kinds = ["roles", "communes", "users", "groups", "public", "deny", "dated", "condition"]
    for layer in layers:
        for j in range(rules_per_layer):
            kind = kinds[j % len(kinds)]
            rule = AccessRule(layer=layer, audience=kind if kind in (
                "roles", "communes", "users", "groups") else "authenticated",
                operations=["view", "download"], row_restriction="none")
            if kind == "roles":
                rule.roles = [random.choice(roles)]
                rule.row_restriction = "commune_insee"
            elif kind == "public":
                rule.audience = "public"
                rule.operations = ["view"]
                rule.columns = {"code_insee": "read", "nom": "read"}
            elif kind == "deny":
                rule.effect, rule.priority, rule.audience = "deny", 5, "roles"
                rule.roles, rule.operations = [random.choice(roles)], ["download"]
            elif kind == "dated":
                rule.valid_until = common_date(-1) if j % 2 else common_date(30)
            elif kind == "condition":
                rule.read_condition = {"column": "code_insee", "op": "=",
                                       "value": random.choice(communes).insee}
            rules.append((rule, kind))
    created = AccessRule.objects.bulk_create([rule for rule, _ in rules])
    for rule, (_, kind) in zip(created, rules):
        if kind == "communes":
            communes_links.append(AccessRule.communes.through(
                accessrule_id=rule.pk, commune_id=random.choice(communes).pk))
        elif kind == "users":
            users_links.append(AccessRule.users.through(
                accessrule_id=rule.pk, user_id=random.choice(users).pk))
        elif kind == "groups":
            groups_links.append(AccessRule.groups.through(
                accessrule_id=rule.pk, group_id=random.choice(groups).pk))
    AccessRule.communes.through.objects.bulk_create(communes_links)
    AccessRule.users.through.objects.bulk_create(users_links)
    AccessRule.groups.through.objects.bulk_create(groups_links)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_accessrule; ANALYZE layers_accessrule_users; "
                       "ANALYZE layers_accessrule_groups; ANALYZE layers_accessrule_communes")
    return layers, users


def common_date(days):
    import datetime

    from django.utils import timezone
    return timezone.localdate() + datetime.timedelta(days=days)


def timed(function, runs):
    durations = []
    for index in range(runs):
        started = time.perf_counter()
        function(index)
        durations.append(time.perf_counter() - started)
    return common.median_p95_ms(durations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="capgeo_bench_rights")
    parser.add_argument("--layers", type=int, default=500)
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from django.conf import settings
    os.environ["CAPGEO_TEST_DB_NAME"] = args.database
    common.setup_django()
    settings.ALLOWED_HOSTS = ["testserver"]
    # Pages rendered without collectstatic's manifest (as the tests do).
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    from django.test.utils import setup_test_environment
    setup_test_environment()
    from django.db import connection
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)

    from django.test import Client

    from accounts.models import User
    from capgeo.demo import load_demo
    from layers.access import AccessDenied, AccessPolicy, LayerNotFound
    from layers.models import AccessRule, Permission
    from maps import decisions

    load_demo()
    started = time.perf_counter()
    layers, users = build(args.layers, args.rules, args.users)
    print(f"{len(layers)} couches, {AccessRule.objects.filter(layer__in=layers).count()} règles, "
          f"{len(users)} utilisateurs créés en {time.perf_counter() - started:.1f} s")
    random.seed(1)
    sample = random.sample(users, max(args.runs, 5))
    figures = {}

    figures["layers"] = timed(
        lambda i: list(AccessPolicy.for_user(sample[i]).layers(Permission.VIEW)
                       .values_list("pk", flat=True)), args.runs)

    # One client (one request handler, as a server worker): a new Client loads Django's
    # middleware again at its first request (WhiteNoise then lists every static file, ~0.1 s),
    # which a worker does once. A first request by a user outside the sample warms the process
    # (imports, templates); each sampled user is then a cold audience.
    web = Client()
    web.force_login(next(user for user in users if user not in sample))
    web.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"})

    def capabilities(i):
        web.force_login(sample[i])
        response = web.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                    "VERSION": "1.3.0"})
        assert response.status_code == 200, response.content[:300]
    figures["capabilities"] = timed(capabilities, max(5, args.runs // 2))

    admin = Client()
    admin.force_login(User.objects.get(username="admin.sig"))
    admin.get("/admin/")  # the handler's middleware loaded, as in a running worker
    figures["admin"] = timed(
        lambda i: admin.get(f"/admin/layers/layer/{layers[i % len(layers)].pk}/change/"),
        max(5, args.runs // 2))

    # « Ce que voit un utilisateur »: every layer the user may view, with its operations and
    # columns (the admin's rights screen for one user).
    def effective(i):
        response = admin.get("/admin/layers/accessrule/ce-que-voit/",
                             {"user": sample[i].username})
        assert response.status_code == 200, response.content[:300]
    figures["effective"] = timed(effective, max(5, args.runs // 2))

    names = [layer.name for layer in layers]
    def cold(i):
        try:
            AccessPolicy.for_user(sample[i]).source(names[i], Permission.VIEW)
        except (LayerNotFound, AccessDenied):
            pass
    figures["cold"] = timed(cold, args.runs)
    # Warm: the same user and layer asked again, as every tile of a map does.
    viewer = User.objects.get(username="agent.guerande")
    decisions.clear()
    public = AccessRule.objects.filter(layer__in=layers, audience="public").first().layer.name
    decisions.source(viewer, public)
    figures["warm"] = timed(lambda i: decisions.source(viewer, public), args.runs * 10)

    rule = AccessRule.objects.filter(layer__name=public, audience="public").first()

    def change(i):
        rule.columns = {"code_insee": "read"} if i % 2 == 0 else {"code_insee": "read",
                                                                   "nom": "read"}
        rule.save()
        source = decisions.source(viewer, public)
        # agent.guerande may get "nom" from another rule too: only check the change was seen.
        assert "code_insee" in source.readable_names()
    figures["change"] = timed(change, args.runs)

    machine = common.machine()
    try:
        load = open("/proc/loadavg").read().split()[0]
    except OSError:
        load = "?"

    def row(label, key, goal):
        return (f"| {label} | {common.fr(figures[key]['median'])} | "
                f"{common.fr(figures[key]['p95'])} | {goal} |")

    lines = [
        SECTION, "",
        f"Mesuré le {time.strftime('%d/%m/%Y')} sur {machine['cpu']} ({machine['nproc']} cœurs, "
        f"{machine['ram']}), PostgreSQL {machine['postgres']}, PostGIS {machine['postgis']}, "
        f"Python {machine['python']} ; charge de la machine au départ : {load} (machine partagée). "
        f"{args.layers} couches × {args.rules} règles (rôles, communes, utilisateurs nommés, "
        f"groupes, public avec colonnes masquées, interdiction prioritaire, règles datées, "
        f"conditions), {args.users} utilisateurs ; dans le processus (client de test Django).",
        "", "| Opération | Médiane (ms) | p95 (ms) | Objectif (issue 14) |", "|---|---|---|---|",
        row("Couches consultables d'un utilisateur (`AccessPolicy.layers`, à froid)", "layers",
            "—"),
        row("WMS GetCapabilities d'un utilisateur quelconque (HTTP)", "capabilities", "≤ 300 ms"),
        row("Page d'administration d'une couche et de ses règles", "admin", "≤ 1 000 ms"),
        row("« Ce que voit un utilisateur » (administration, toutes ses couches)", "effective",
            "≤ 1 000 ms"),
        row("Évaluation des règles d'une couche, à froid (`AccessPolicy.source`)", "cold", "—"),
        row("Évaluation des règles d'une requête WMS/WFS, à chaud (`maps.decisions.source`)",
            "warm", "≤ 1 ms"),
        row("Modifier une règle puis la requête suivante (qui la voit)", "change",
            "effet à la requête suivante"),
        "",
        "Un changement de règle prend effet à la requête suivante dans tous les processus : les "
        "déclencheurs incrémentent le compteur du catalogue dans la transaction du changement, et "
        "chaque requête le relit avant d'utiliser une décision gardée "
        "(`tests/test_rights_matrix.py` le vérifie ; `wms/tests/test_mvt_decisions.py` avec un "
        "second processus).", "", NOTES,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        print(f"written: {common.write_section(SECTION, section)}")


if __name__ == "__main__":
    main()
