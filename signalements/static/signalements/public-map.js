/* Public map of reports: the catalogue layer "signalements" read from the REST API (the access
 * policy decides what the visitor sees), coloured by status, filtered like the list. */
(function () {
  'use strict';
  var COLORS = {nouveau: '#c0392b', pris_en_compte: '#1f5f8b', en_cours: '#b35c00', resolu: '#1e7b34'};
  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('public-map');
    if (!el || !window.ol) { return; }
    el.hidden = false;
    var chosen = Array.prototype.filter.call(document.querySelectorAll('#status-filter input'),
      function (box) { return box.checked; }).map(function (box) { return box.value; });
    var format = new ol.format.GeoJSON({dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857'});
    var reports = new ol.source.Vector({url: el.dataset.featuresUrl, format: format});
    var communes = new ol.source.Vector({url: el.dataset.communesUrl, format: format,
      attributions: 'IGN – ADMIN EXPRESS, Licence Ouverte 2.0'});
    var styles = {};
    var map = new ol.Map({target: el, layers: [
      new ol.layer.Vector({source: communes, style: new ol.style.Style({
        stroke: new ol.style.Stroke({color: '#1f5f8b', width: 1}),
        fill: new ol.style.Fill({color: 'rgba(255,255,255,0.9)'})})}),
      new ol.layer.Vector({source: reports, style: function (feature) {
        var s = feature.get('statut');
        if (chosen.indexOf(s) < 0) { return null; }
        if (!styles[s]) {
          styles[s] = new ol.style.Style({image: new ol.style.Circle({radius: 6,
            fill: new ol.style.Fill({color: COLORS[s] || '#555'}),
            stroke: new ol.style.Stroke({color: '#fff', width: 2})})});
        }
        return styles[s];
      }})
    ], view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 11})});
    el.olMap = map;
    communes.once('featuresloadend', function () {
      map.getView().fit(communes.getExtent(), {padding: [10, 10, 10, 10]});
    });
  });
})();
