/* The map of assignments: the platform's WMS tiles (cached for offline use, see tiles.js), the
 * zones à enjeu of the package and the installations coloured by the state of their control. */
(function (Terrain) {
  "use strict";
  const COLORS = {todo: "#1f5f8b", pending: "#e69f00", done: "#009e73", problem: "#d55e00"};
  let map = null;
  let points = null;
  let zones = null;

  function style(color, radius) {
    return new ol.style.Style({image: new ol.style.Circle({
      radius, fill: new ol.style.Fill({color}),
      stroke: new ol.style.Stroke({color: "#fff", width: 2})})});
  }

  function create(target, onSelect) {
    points = new ol.source.Vector();
    zones = new ol.source.Vector();
    map = new ol.Map({
      target,
      layers: [
        new ol.layer.Tile({source: new ol.source.XYZ({
          tileUrlFunction: (coord) => Terrain.tiles.url(coord[0], coord[1], coord[2]),
          transition: 0,  // the tiles are transparent: no cross-fade between zoom levels
          attributions: "C@p Géo — IGN ADMIN EXPRESS",
        })}),
        new ol.layer.Vector({source: zones, style: new ol.style.Style({
          fill: new ol.style.Fill({color: "rgba(86,180,233,0.25)"}),
          stroke: new ol.style.Stroke({color: "#56b4e9", width: 1})})}),
        new ol.layer.Vector({source: points,
                             style: (feature) => style(COLORS[feature.get("state")], 8)}),
      ],
      view: new ol.View({center: ol.proj.fromLonLat([-2.4, 47.33]), zoom: 11, maxZoom: 19}),
    });
    map.on("singleclick", (event) => {
      map.forEachFeatureAtPixel(event.pixel, (feature) => {
        if (feature.get("control")) {
          onSelect(feature.get("control"));
          return true;
        }
        return false;
      });
    });
    map.on("pointermove", (event) => {
      map.getTargetElement().style.cursor = map.hasFeatureAtPixel(event.pixel) ? "pointer" : "";
    });
  }

  /* items: [{control id, installation record, state}], area: package.map, zoneCollections. */
  function show(items, area, zoneCollections) {
    if (!map) {
      return;
    }
    map.updateSize();
    const geojson = new ol.format.GeoJSON({featureProjection: "EPSG:3857"});
    points.clear();
    for (const item of items) {
      const feature = geojson.readFeature({type: "Feature", geometry: item.installation.geometry,
                                           properties: {}});
      feature.set("control", item.id);
      feature.set("state", item.state);
      points.addFeature(feature);
    }
    zones.clear();
    for (const collection of zoneCollections || []) {
      zones.addFeatures(geojson.readFeatures(collection));
    }
    if (area && !map.get("fitted")) {
      const extent = ol.proj.transformExtent(area.bbox_wgs84, "EPSG:4326", "EPSG:3857");
      map.getView().fit(extent, {padding: [20, 20, 20, 20]});
      map.set("fitted", true);
    }
  }

  Terrain.map = {create, show, COLORS};
})(window.Terrain = window.Terrain || {});
