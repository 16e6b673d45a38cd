"""MapProxy embedded in the application: one MapProxyApp per audience and catalogue version.

Built from a dict the way mapproxy.config.loader.load_configuration builds from a file: plugins
loaded, options and references validated, then ProxyConfiguration and MapProxyApp.
"""
import logging
import threading

# MapProxy reports each configuration step at INFO; keep its warnings and errors only.
logging.getLogger("mapproxy").setLevel(logging.WARNING)

from mapproxy.config.configuration.base import ConfigurationError
from mapproxy.config.configuration.proxy import ProxyConfiguration
from mapproxy.config.loader import load_plugins
from mapproxy.config.spec import validate_options
from mapproxy.config.validator import validate
from mapproxy.wsgiapp import MapProxyApp

from . import source
from .config import build_config, catalogue_version, tiles_dir
from .styles import StyleIndex

log = logging.getLogger(__name__)

_built = {}  # audience key -> (version, ProxyConfiguration, MapProxyApp, StyleIndex)
_lock = threading.Lock()
_plugins_loaded = False


def proxy_configuration(conf):
    global _plugins_loaded
    if not _plugins_loaded:
        load_plugins()
        source.register()
        _plugins_loaded = True
    if not conf.get("layers"):
        # Nothing to validate but our constant grids; MapProxy's spec requires layers.
        return ProxyConfiguration(conf, conf_base_dir=str(tiles_dir()), seed=False)
    errors, informal_only = validate_options(conf)
    if errors and not informal_only:
        raise ConfigurationError("; ".join(errors))
    errors = validate(conf)
    if errors:
        raise ConfigurationError("; ".join(errors))
    return ProxyConfiguration(conf, conf_base_dir=str(tiles_dir()), seed=False)


def configuration_for(audience):
    """(ProxyConfiguration, MapProxyApp, StyleIndex) of the audience, rebuilt when the catalogue
    changed."""
    version = (catalogue_version(), str(tiles_dir()))
    entry = _built.get(audience.key)
    if entry and entry[0] == version:
        return entry[1:]
    with _lock:
        entry = _built.get(audience.key)
        if entry and entry[0] == version:
            return entry[1:]
        index = StyleIndex()
        proxy_conf = proxy_configuration(build_config(audience, index))
        app = MapProxyApp(proxy_conf.configured_services(), proxy_conf.base_config)
        # Entries of an older version are dropped; other audiences rebuild on their next request.
        for key in [k for k, entry in _built.items() if entry[0] != version]:
            del _built[key]
        _built[audience.key] = (version, proxy_conf, app, index)
        log.info("MapProxy configuration built for %s (%d layers)", audience.key,
                 len(proxy_conf.layers))
        return proxy_conf, app, index
