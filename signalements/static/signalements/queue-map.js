/* The queue's map: the reports of the list (same filters), a click opens the report. */
(function () {
  'use strict';
  var COLORS = {nouveau: '#c0392b', pris_en_compte: '#1f5f8b', en_cours: '#b35c00'};
  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('queue-map');
    var data = document.getElementById('queue-features');
    if (!el || !data || !window.ol) { return; }
    el.hidden = false;
    var format = new ol.format.GeoJSON({dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857'});
    var source = new ol.source.Vector({features: format.readFeatures(JSON.parse(data.textContent))});
    var map = new ol.Map({target: el, layers: [new ol.layer.Vector({source: source, style: function (f) {
      return new ol.style.Style({image: new ol.style.Circle({radius: 7,
        fill: new ol.style.Fill({color: COLORS[f.get('statut')] || '#555'}),
        stroke: new ol.style.Stroke({color: '#fff', width: 2})})});
    }})], view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 11})});
    el.olMap = map;
    if (source.getFeatures().length) { map.getView().fit(source.getExtent(), {maxZoom: 16, padding: [30, 30, 30, 30]}); }
    map.on('click', function (event) {
      map.forEachFeatureAtPixel(event.pixel, function (f) {
        window.location.href = el.dataset.processUrl + f.getId() + '/';
        return true;
      });
    });
  });
})();
