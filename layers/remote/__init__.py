"""Remote services (WMS, WMTS, WFS) registered by URL and their layers in the catalogue.

- fetch: every request to a remote server (SSRF guard, timeouts, size limit, French errors);
- capabilities: the capabilities document read with OWSLib and mapped to RemoteLayer rows;
- publish: chosen RemoteLayers turned into catalogue Layers (kind=remote), refreshed later.

The map engine (maps.sources, maps.remote) draws, queries and legends the published layers
through fetch.
"""
