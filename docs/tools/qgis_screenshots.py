"""Screenshots of docs/qgis.md taken by QGIS itself, and a WFS-T round trip from QGIS.

Needs Debian's QGIS (`apt-get install qgis python3-qgis xvfb`; not a dependency of C@p Géo)
and a running C@p Géo over a database holding the demo (./run.sh setup). Run with Debian's
Python (PyQGIS is not in .venv), under a virtual display:

    .venv/bin/python manage.py runserver --noreload 127.0.0.1:8765 &   # the dev database
    xvfb-run -a -s "-screen 0 1400x1000x24" /usr/bin/python3 docs/tools/qgis_screenshots.py \
        --url http://127.0.0.1:8765 [--edit-check]

What it does, as agent.guerande (password demo-capgeo) through a QGIS Basic authentication
configuration (QgsAuthMethodConfig, encrypted by a throw-away master password):
- the WFS connection dialog (QgsNewHttpConnection) filled in, and the WFS source-selection
  dialog after "Connexion" (the layer list the server gives this account);
- the map of the demo layers read over WFS 2.0.0 and WFS 1.1.0, over the WMS background, in a
  QGIS map canvas with its layer tree (qgis-fenetre-carte.png);
- the attribute form of a feature in edit mode as admin.sig (rolled back, nothing saved);
- with --edit-check, as admin.sig, once over a WFS 2.0.0 connection and once over 1.1.0: adds
  a feature to a layer over WFS-T (commitChanges), reads it back over WFS, deletes it again
  (commitChanges) and prints each result; exit code 1 if a round trip failed.
  wms/tests/test_wfs_110_qgis.py runs it against the test server when PyQGIS is installed.
QT_QPA_PLATFORM=offscreen works as well as xvfb-run (the dialogs then use Qt's built-in font).
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsCoordinateReferenceSystem,
                       QgsFeature, QgsFeatureRequest, QgsGeometry, QgsPointXY, QgsProject,
                       QgsRasterLayer, QgsSettings, QgsVectorLayer)
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QColor

IMG = Path(__file__).resolve().parent.parent / "img"
PASSWORD = "demo-capgeo"
CONNECTION = "C@p Géo"


def wait(seconds):
    """Let Qt run (network replies, widget painting) for a while."""
    end = time.time() + seconds
    while time.time() < end:
        QCoreApplication.processEvents()
        time.sleep(0.05)


def basic_auth(username):
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        manager.setMasterPassword("capgeo-captures", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName(f"C@p Géo – {username}")
    config.setConfig("username", username)
    config.setConfig("password", PASSWORD)
    ok, config = manager.storeAuthenticationConfig(config)
    assert ok, "the QGIS authentication database refused the configuration"
    return config.id()


def save_connection(url, authcfg, version="auto"):
    """The WFS connection as QGIS's 'Nouveau' dialog stores it (QGIS 3.22 settings keys)."""
    settings = QgsSettings()
    key = f"qgis/connections-wfs/{CONNECTION}"
    settings.setValue(f"{key}/url", f"{url}/ows")
    settings.setValue(f"{key}/version", version)
    settings.setValue(f"{key}/pagingEnabled", "true")
    settings.setValue(f"{key}/maxnumfeatures", "")
    settings.setValue(f"qgis/WFS/{CONNECTION}/authcfg", authcfg)
    settings.setValue(f"qgis/WFS/{CONNECTION}/username", "")
    settings.setValue(f"qgis/WFS/{CONNECTION}/password", "")


def grab(widget, name, seconds=1.5):
    widget.show()
    widget.raise_()
    wait(seconds)
    path = IMG / name
    widget.grab().save(str(path))
    print(f"écrit : {path.relative_to(IMG.parent.parent)}")
    return path


def connection_dialog():
    from qgis.gui import QgsNewHttpConnection

    dialog = QgsNewHttpConnection(None, QgsNewHttpConnection.ConnectionWfs, "qgis/connections-wfs/",
                                  CONNECTION, QgsNewHttpConnection.FlagShowHttpSettings)
    dialog.resize(620, 760)
    grab(dialog, "qgis-connexion-wfs.png")
    dialog.close()


def clear_network_cache():
    """QGIS caches GetCapabilities by URL, whoever asked: another account's copy (without
    Transaction) would hide this account's rights."""
    from qgis.core import QgsNetworkAccessManager

    cache = QgsNetworkAccessManager.instance().cache()
    if cache is not None:
        cache.clear()


def edit_form(url, layer_name="zones_activite", username="admin.sig"):
    """The attribute form of a feature in edit mode (not saved: rolled back)."""
    from qgis.gui import QgsAttributeDialog, QgsGui

    QgsGui.editorWidgetRegistry().initEditors()  # what QGIS desktop does at start-up
    clear_network_cache()
    layer = wfs_layer(url, basic_auth(username), layer_name, "2.0.0", "Zones d'activité")
    assert layer.startEditing(), "QGIS ne propose pas l'édition"
    feature = next(layer.getFeatures())
    dialog = QgsAttributeDialog(layer, feature, False, None, True)
    dialog.resize(560, 190)
    grab(dialog, "qgis-edition-formulaire.png")
    dialog.close()
    layer.rollBack()


def source_select_dialog():
    from qgis.core import QgsProviderRegistry
    from qgis.gui import QgsGui
    from qgis.PyQt.QtWidgets import QPushButton

    widget = QgsProviderRegistry.instance().createSelectionWidget("WFS", None, Qt.Widget)
    if widget is None:  # older API
        provider = QgsGui.sourceSelectProviderRegistry().providerByName("WFS")
        widget = provider.createDataSourceWidget()
    widget.resize(1000, 640)
    widget.show()
    wait(0.5)
    connect = next((b for b in widget.findChildren(QPushButton)
                    if b.objectName() == "btnConnect"), None)
    if connect is not None:
        connect.click()
    wait(6)  # GetCapabilities over HTTP
    grab(widget, "qgis-couches-wfs.png", 1)
    widget.close()


def wfs_layer(url, authcfg, name, version="2.0.0", title=None):
    uri = (f"url='{url}/ows' typename='capgeo:{name}' version='{version}' "
           f"authcfg='{authcfg}' srsname='EPSG:2154' pagingEnabled='true' "
           "restrictToRequestBBOX='0'")
    layer = QgsVectorLayer(uri, title or name, "WFS")
    assert layer.isValid(), f"WFS {version} {name}: {layer.error().summary()}"
    return layer


def wms_layer(url, authcfg, names):
    # One layers= and one styles= per WMS layer (bottom first), as QGIS writes them.
    layers = "".join(f"&layers={name}&styles=" for name in names.split(","))
    uri = (f"url={url}/ows{layers}&format=image/png&crs=EPSG:2154"
           f"&dpiMode=7&authcfg={authcfg}")
    layer = QgsRasterLayer(uri, "Fond WMS C@p Géo", "wms")
    assert layer.isValid(), f"WMS: {layer.error().summary()}"
    return layer


def map_window(url, authcfg):
    """A QGIS map canvas with a layer tree, as a user sees it."""
    from qgis.gui import QgsLayerTreeMapCanvasBridge, QgsLayerTreeView, QgsMapCanvas
    from qgis.core import QgsLayerTreeModel
    from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget

    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:2154"))
    background = wms_layer(url, authcfg, "communes,zones_activite")
    layers = [
        wfs_layer(url, authcfg, "communes", "2.0.0", "Communes (WFS 2.0.0)"),
        wfs_layer(url, authcfg, "reseau_fibre", "2.0.0", "Réseau fibre (WFS 2.0.0)"),
        wfs_layer(url, authcfg, "mairies", "1.1.0", "Mairies (WFS 1.1.0)"),
    ]
    for layer in layers:
        print(f"{layer.name()} : {layer.featureCount()} objets lus")
    outline = layers[0].renderer().symbol().symbolLayer(0)
    outline.setBrushStyle(Qt.NoBrush)
    outline.setStrokeColor(QColor("#303030"))
    outline.setStrokeWidth(0.4)
    layers[1].renderer().symbol().setColor(QColor("#d7301f"))
    layers[1].renderer().symbol().setWidth(0.8)
    layers[2].renderer().symbol().setColor(QColor("#2b8cbe"))
    layers[2].renderer().symbol().setSize(4)
    # Each new layer goes on top of the layer tree: the WMS first, so it stays below.
    for layer in [background] + layers:
        project.addMapLayer(layer)
    root = project.layerTreeRoot()

    window = QWidget()
    window.setWindowTitle("QGIS – C@p Géo")
    box = QHBoxLayout(window)
    view = QgsLayerTreeView()
    model = QgsLayerTreeModel(root, window)
    view.setModel(model)
    view.expandAll()
    view.setMaximumWidth(300)
    canvas = QgsMapCanvas()
    canvas.setCanvasColor(QColor("white"))
    QgsLayerTreeMapCanvasBridge(root, canvas)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:2154"))
    box.addWidget(view)
    box.addWidget(canvas, 1)
    window.resize(1300, 850)
    window.show()
    extent = layers[0].extent()
    extent.scale(1.05)
    canvas.setExtent(extent)
    canvas.refreshAllLayers()
    wait(10)
    grab(window, "qgis-fenetre-carte.png", 2)
    window.close()


def edit_round_trip(url, layer_name, version, username):
    """Add a 100 m square over WFS-T (commitChanges), read it back, delete it (commitChanges)."""
    clear_network_cache()
    authcfg = basic_auth(username)
    layer = wfs_layer(url, authcfg, layer_name, version)
    before = layer.featureCount()
    capabilities = layer.dataProvider().capabilitiesString()
    print(f"[{version}] {layer_name} : {before} objets, capacités du fournisseur : {capabilities}")
    if not layer.startEditing():
        print(f"[{version}] QGIS ne propose pas l'édition (pas de WFS-T ?)")
        return False
    feature = QgsFeature(layer.fields())
    centre = layer.extent().center()
    square = QgsGeometry.fromPolygonXY([[
        QgsPointXY(centre.x() - 50, centre.y() - 50), QgsPointXY(centre.x() + 50, centre.y() - 50),
        QgsPointXY(centre.x() + 50, centre.y() + 50), QgsPointXY(centre.x() - 50, centre.y() + 50),
        QgsPointXY(centre.x() - 50, centre.y() - 50)]])
    feature.setGeometry(square)
    text_field = next(f.name() for f in layer.fields()
                      if f.typeName().lower() in ("string", "text") and f.name() != "gml_id")
    marker = f"Essai QGIS WFS-T {version} {int(time.time())}"
    feature.setAttribute(text_field, marker)
    assert layer.addFeature(feature)
    committed = layer.commitChanges()
    print(f"[{version}] ajout + commitChanges : {committed} {layer.commitErrors()}")
    if not committed:
        layer.rollBack()
        return False
    layer.reload()
    request = QgsFeatureRequest().setFilterExpression(f"\"{text_field}\" = '{marker}'")
    found = list(layer.getFeatures(request))
    print(f"[{version}] relu sur le WFS : {len(found)} objet(s) « {marker} »")
    ok = len(found) == 1
    if found:
        assert layer.startEditing()
        layer.deleteFeature(found[0].id())
        deleted = layer.commitChanges()
        print(f"[{version}] suppression + commitChanges : {deleted} {layer.commitErrors()}")
        ok = ok and deleted
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--edit-check", action="store_true")
    parser.add_argument("--edit-layer", default="zones_activite",
                        help="couche polygonale avec un attribut texte (défaut : zones_activite)")
    parser.add_argument("--edit-user", default="admin.sig")
    parser.add_argument("--edit-versions", default="2.0.0,1.1.0")
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    url = args.url.rstrip("/")

    profile = tempfile.mkdtemp(prefix="capgeo-qgis-")
    os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", profile)
    QCoreApplication.setOrganizationName("QGIS")
    QCoreApplication.setApplicationName("QGIS3")
    app = QgsApplication([], True, profile)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    # QGIS in French, as the guide's readers see it (Debian ships the catalogues).
    from qgis.PyQt.QtCore import QTranslator
    translators = []
    for directory, name in (("/usr/share/qt5/translations", "qtbase_fr"),
                            ("/usr/share/qgis/i18n", "qgis_fr")):
        translator = QTranslator()
        if translator.load(name, directory):
            app.installTranslator(translator)
            translators.append(translator)
    ok = True
    try:
        if not args.no_screenshots:
            IMG.mkdir(parents=True, exist_ok=True)
            authcfg = basic_auth("agent.guerande")
            save_connection(url, authcfg)
            connection_dialog()
            source_select_dialog()
            map_window(url, authcfg)
            edit_form(url)
        if args.edit_check:
            for version in args.edit_versions.split(","):
                done = edit_round_trip(url, args.edit_layer, version, args.edit_user)
                print(f"WFS-T {version} depuis QGIS :", "réussi" if done else "ÉCHEC")
                ok = ok and done
    finally:
        QgsProject.instance().clear()
        app.exitQgis()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
