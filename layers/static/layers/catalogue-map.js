/* Catalogue map (progressive enhancement): commune boundaries as an offline basemap.
 * On the list page, the visitor draws a box or takes the map's view as the extent filter
 * (the bbox field, in WGS 84 degrees); on a layer's sheet, the map shows the layer's extent.
 * Without JavaScript the page works the same with the text fields. */
(function () {
  'use strict';
  function ready(fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
  }

  function parseBox(text) {
    if (!text) { return null; }
    var parts = text.split(',').map(Number);
    return parts.length === 4 && parts.every(isFinite) ? parts : null;
  }

  ready(function () {
    var target = document.getElementById('catalogue-map');
    if (!target || !window.ol) { return; }
    target.hidden = false;
    var boxStyle = new ol.style.Style({
      stroke: new ol.style.Stroke({color: '#d35400', width: 2, lineDash: [6, 4]}),
      fill: new ol.style.Fill({color: 'rgba(211, 84, 0, 0.10)'})
    });
    var communes = new ol.source.Vector({
      url: target.dataset.communesUrl,
      format: new ol.format.GeoJSON({dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857'}),
      attributions: 'IGN – ADMIN EXPRESS, Licence Ouverte 2.0'
    });
    var boxes = new ol.source.Vector();
    var map = new ol.Map({
      target: target,
      layers: [
        new ol.layer.Vector({
          source: communes,
          style: new ol.style.Style({
            stroke: new ol.style.Stroke({color: '#1f5f8b', width: 1}),
            fill: new ol.style.Fill({color: 'rgba(255, 255, 255, 0.8)'})
          })
        }),
        new ol.layer.Vector({source: boxes, style: boxStyle})
      ],
      view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 9})
    });

    function showBox(lonlat) {
      boxes.clear();
      if (!lonlat) { return null; }
      var extent = ol.proj.transformExtent(lonlat, 'EPSG:4326', 'EPSG:3857');
      boxes.addFeature(new ol.Feature(ol.geom.Polygon.fromExtent(extent)));
      return extent;
    }

    var initial = showBox(parseBox(target.dataset.bbox || target.dataset.extent));
    if (initial) {
      map.getView().fit(initial, {padding: [20, 20, 20, 20], maxZoom: 14});
    } else {
      communes.once('featuresloadend', function () {
        map.getView().fit(communes.getExtent(), {padding: [10, 10, 10, 10]});
      });
    }

    var input = target.dataset.bboxInput && document.getElementById(target.dataset.bboxInput);
    var tools = document.querySelector('.map-tools');
    if (!input || !tools) { return; }  // the layer sheet: display only
    tools.hidden = false;
    var form = input.form;

    function submitExtent(extent) {
      if (extent) {
        var lonlat = ol.proj.transformExtent(extent, 'EPSG:3857', 'EPSG:4326');
        input.value = lonlat.map(function (v) { return v.toFixed(5); }).join(',');
      } else {
        input.value = '';
      }
      form.submit();
    }

    var dragBox = new ol.interaction.DragBox();
    dragBox.setActive(false);
    map.addInteraction(dragBox);
    dragBox.on('boxend', function () { submitExtent(dragBox.getGeometry().getExtent()); });

    tools.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-action]');
      if (!button) { return; }
      var action = button.dataset.action;
      if (action === 'draw') {
        var active = !dragBox.getActive();
        dragBox.setActive(active);
        button.setAttribute('aria-pressed', String(active));
        target.style.cursor = active ? 'crosshair' : '';
      } else if (action === 'view') {
        submitExtent(map.getView().calculateExtent(map.getSize()));
      } else if (action === 'clear') {
        submitExtent(null);
      }
    });
  });
}());
