"""Check that DATABASE_URL points to a reachable PostgreSQL server with PostGIS.

Used by run.sh before anything touches the database, so a wrong URL or a server without PostGIS
stops the set-up with one clear sentence instead of a Django traceback. Exit status 0 when fine,
1 with the sentence on stderr otherwise.
"""
import sys
from urllib.parse import urlsplit

import dj_database_url
import psycopg2


def fail(sentence):
    print(f"C@p Géo : erreur : {sentence}", file=sys.stderr)
    sys.exit(1)


def redacted(url):
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def main(url):
    if not url.startswith(("postgis://", "postgres://", "postgresql://")):
        fail(
            f"DATABASE_URL={redacted(url)!r} n’est pas une URL PostGIS ; "
            "écrivez-la postgis://UTILISATEUR:MOT_DE_PASSE@HÔTE:PORT/BASE."
        )
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # dj_database_url raises plain ValueErrors with terse messages
        fail(f"DATABASE_URL={redacted(url)!r} est illisible ({exc}) ; "
             "écrivez-la postgis://UTILISATEUR:MOT_DE_PASSE@HÔTE:PORT/BASE.")
    if not config.get("NAME"):
        fail(f"DATABASE_URL={redacted(url)!r} ne nomme aucune base ; ajoutez /BASE à la fin.")
    try:
        connection = psycopg2.connect(
            dbname=config["NAME"], user=config.get("USER") or None,
            password=config.get("PASSWORD") or None, host=config.get("HOST") or None,
            port=config.get("PORT") or None, connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split())
        fail(
            f"connexion impossible à la base de DATABASE_URL={redacted(url)!r} ({reason}) ; "
            "vérifiez l’hôte, le port, l’utilisateur, le mot de passe et le nom de la base, "
            "ou retirez DATABASE_URL pour utiliser le cluster PostGIS local du projet."
        )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        if cursor.fetchone() is not None:
            return
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        if cursor.fetchone() is None:
            fail(
                f"le serveur de DATABASE_URL={redacted(url)!r} n’a pas l’extension PostGIS ; "
                "installez PostGIS sur ce serveur (Debian : postgresql-15-postgis-3) puis "
                "exécutez CREATE EXTENSION postgis dans la base."
            )
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg2.Error:
            fail(
                f"la base de DATABASE_URL={redacted(url)!r} n’a pas l’extension PostGIS et cet "
                "utilisateur ne peut pas la créer ; demandez à un superutilisateur d’y exécuter "
                "CREATE EXTENSION postgis."
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
