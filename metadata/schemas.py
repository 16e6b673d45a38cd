"""The ISO 19139 schemas (2007-04-17) shipped in the pycsw package, loaded once per process to
validate records: nothing is fetched from the network."""
import functools
from pathlib import Path

from lxml import etree


def schema_directory():
    import importlib.util

    spec = importlib.util.find_spec("pycsw")  # located, not imported (see metadata.csw)
    root = Path(next(iter(spec.submodule_search_locations)))
    schemas = root / "plugins" / "profiles" / "apiso" / "schemas"
    return schemas / "ogc" / "iso" / "19139" / "20070417"


@functools.cache
def gmd_schema():
    """gmd (records) with gmx (gmx:Anchor, which stands for gco:CharacterString in INSPIRE)."""
    directory = schema_directory()
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="http://www.isotc211.org/2005/gmd"
                 schemaLocation="{(directory / 'gmd' / 'gmd.xsd').as_uri()}"/>
      <xs:import namespace="http://www.isotc211.org/2005/gmx"
                 schemaLocation="{(directory / 'gmx' / 'gmx.xsd').as_uri()}"/>
    </xs:schema>"""
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))


def errors(document):
    """The schema errors of an ISO 19139 document (an lxml element or bytes), as strings."""
    if isinstance(document, bytes):
        document = etree.fromstring(document)
    schema = gmd_schema()
    if schema.validate(document):
        return []
    return [f"{error.line}: {error.message}" for error in schema.error_log]
