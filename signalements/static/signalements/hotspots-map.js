/* The dashboard's map of hot spots: the squares of reports counted on the server (same filters as
 * the figures), as a heat map weighted by their counts and as counted circles, over the
 * communes drawn by the platform's WMS. Only counts come to the page. */
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('hotspots-map');
    var data = document.getElementById('hotspots-data');
    if (!el || !data || !window.ol) { return; }
    var spots = JSON.parse(data.textContent);
    el.hidden = false;
    var most = spots.reduce(function (m, s) { return Math.max(m, s.count); }, 1);
    var source = new ol.source.Vector({features: spots.map(function (spot) {
      var feature = new ol.Feature(new ol.geom.Point(ol.proj.fromLonLat([spot.lon, spot.lat])));
      feature.set('count', spot.count);
      feature.set('weight', Math.max(0.15, spot.count / most));
      return feature;
    })});
    var circles = function (feature) {
      var count = feature.get('count');
      return new ol.style.Style({
        image: new ol.style.Circle({radius: 8 + 14 * Math.sqrt(count / most),
          fill: new ol.style.Fill({color: 'rgba(192, 57, 43, 0.55)'}),
          stroke: new ol.style.Stroke({color: '#fff', width: 1.5})}),
        text: new ol.style.Text({text: String(count), fill: new ol.style.Fill({color: '#fff'}),
          font: 'bold 12px sans-serif'})});
    };
    var map = new ol.Map({target: el, layers: [
      new ol.layer.Image({source: new ol.source.ImageWMS({url: el.dataset.owsUrl,
        params: {LAYERS: 'communes', VERSION: '1.3.0'}, ratio: 1})}),
      new ol.layer.Heatmap({source: source, blur: 24, radius: 14,
        weight: function (f) { return f.get('weight'); }}),
      new ol.layer.Vector({source: source, style: circles, minZoom: 12})],
      view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 11})});
    el.olMap = map;
    if (spots.length) {
      map.getView().fit(source.getExtent(), {maxZoom: 15, padding: [30, 30, 30, 30]});
    }
  });
})();
