"""Run by Debian's /usr/bin/python3 (PyQGIS 3.22), not by the project's Python: load one
collection through QGIS's OGC API – Features provider and print what QGIS read, as JSON.

    python3 qgis_oapif.py <landing page URL> <collection> [username password]
"""
import json
import os
import sys

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsVectorLayer


def main():
    url, name = sys.argv[1], sys.argv[2]
    app = QgsApplication([], True)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    uri = f"url='{url}' typename='{name}'"
    if len(sys.argv) > 4:
        manager = app.authManager()
        manager.setMasterPassword("capgeo-test", True)
        config = QgsAuthMethodConfig("Basic")
        config.setName("capgeo")
        config.setConfig("username", sys.argv[3])
        config.setConfig("password", sys.argv[4])
        manager.storeAuthenticationConfig(config)
        uri += f" authcfg='{config.id()}'"
    layer = QgsVectorLayer(uri, name, "OAPIF")
    result = {"valid": layer.isValid()}
    if layer.isValid():
        ids = []
        for feature in layer.getFeatures():
            ids.append(feature.attribute("id") if "id" in layer.fields().names() else feature.id())
        result.update({"featureCount": layer.featureCount(), "read": len(ids),
                       "fields": layer.fields().names(), "crs": layer.crs().authid(),
                       "extent": [layer.extent().xMinimum(), layer.extent().yMinimum(),
                                  layer.extent().xMaximum(), layer.extent().yMaximum()]})
    print(json.dumps(result, default=str), flush=True)
    # QGIS 3.22 may crash in exitQgis() while the provider's network threads end (seen with
    # the live test server): what was read is printed, leave without the teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
