"""Full-text search of the catalogue: French stemming that ignores accents, kept up to date by
triggers so every path that writes a layer (admin, REST API, publishing) refreshes it."""
from django.db import migrations

FORWARD = [
    # unaccent is a trusted extension (PostgreSQL ≥ 13): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'capgeo_french') THEN
            CREATE TEXT SEARCH CONFIGURATION capgeo_french (COPY = french);
            ALTER TEXT SEARCH CONFIGURATION capgeo_french
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION layers_layer_search_vector() RETURNS trigger AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('capgeo_french', coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('capgeo_french',
                                     coalesce(array_to_string(NEW.keywords, ' '), '')), 'B')
            || setweight(to_tsvector('capgeo_french', coalesce(
                   (SELECT name FROM layers_theme WHERE id = NEW.theme_id), '')), 'B')
            || setweight(to_tsvector('capgeo_french', coalesce(NEW.abstract, '')), 'C')
            || setweight(to_tsvector('simple', replace(NEW.name, '_', ' ')), 'D');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS layers_layer_search_vector ON layers_layer",
    """
    CREATE TRIGGER layers_layer_search_vector BEFORE INSERT OR UPDATE ON layers_layer
    FOR EACH ROW EXECUTE FUNCTION layers_layer_search_vector()
    """,
    # A renamed theme re-indexes its layers (the UPDATE fires the trigger above).
    """
    CREATE OR REPLACE FUNCTION layers_theme_reindex_layers() RETURNS trigger AS $$
    BEGIN
        UPDATE layers_layer SET search_vector = NULL WHERE theme_id = NEW.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS layers_theme_reindex_layers ON layers_theme",
    """
    CREATE TRIGGER layers_theme_reindex_layers AFTER UPDATE OF name ON layers_theme
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION layers_theme_reindex_layers()
    """,
    "UPDATE layers_layer SET search_vector = NULL",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS layers_theme_reindex_layers ON layers_theme",
    "DROP FUNCTION IF EXISTS layers_theme_reindex_layers()",
    "DROP TRIGGER IF EXISTS layers_layer_search_vector ON layers_layer",
    "DROP FUNCTION IF EXISTS layers_layer_search_vector()",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS capgeo_french",
]


class Migration(migrations.Migration):
    dependencies = [("layers", "0002_schemas_and_themes")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
