/* Campaign planning map (progressive enhancement of the campaign form).
 * Shows the manager's installations over the commune boundaries (no remote tiles), lets them
 * draw a zone, writes it to the form's "area" field (GeoJSON, WGS 84) and asks the server which
 * installations the campaign would plan (PostGIS ST_Within, same rules as the creation).
 * Without JavaScript the form works the same with a pasted GeoJSON. */
(function () {
  'use strict';
  function ready(fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
  }

  ready(function () {
    var target = document.getElementById('planning-map');
    var form = document.getElementById('campaign-form');
    if (!target || !form || !window.ol) { return; }
    target.hidden = false;
    var tools = document.getElementById('planning-tools');
    tools.hidden = false;
    var status = document.getElementById('planning-status');
    var areaField = form.elements.area;
    var lonlat = new ol.format.GeoJSON({dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857'});
    var selected = {};

    var communes = new ol.source.Vector({
      url: target.dataset.communesUrl, format: lonlat,
      attributions: 'IGN – ADMIN EXPRESS, Licence Ouverte 2.0'
    });
    var installations = new ol.source.Vector({url: target.dataset.installationsUrl, format: lonlat});
    var zone = new ol.source.Vector();

    var styles = {
      free: new ol.style.Style({image: new ol.style.Circle({radius: 4,
        fill: new ol.style.Fill({color: '#5d6d7e'}), stroke: new ol.style.Stroke({color: '#fff', width: 1})})}),
      busy: new ol.style.Style({image: new ol.style.Circle({radius: 4,
        fill: new ol.style.Fill({color: '#fff'}), stroke: new ol.style.Stroke({color: '#5d6d7e', width: 1.5})})}),
      chosen: new ol.style.Style({image: new ol.style.Circle({radius: 6,
        fill: new ol.style.Fill({color: '#d35400'}), stroke: new ol.style.Stroke({color: '#fff', width: 1.5})})})
    };

    var map = new ol.Map({
      target: target,
      layers: [
        new ol.layer.Vector({source: communes, style: new ol.style.Style({
          stroke: new ol.style.Stroke({color: '#1f5f8b', width: 1}),
          fill: new ol.style.Fill({color: 'rgba(255, 255, 255, 0.85)'})
        })}),
        new ol.layer.Vector({source: zone, style: new ol.style.Style({
          stroke: new ol.style.Stroke({color: '#d35400', width: 2, lineDash: [6, 4]}),
          fill: new ol.style.Fill({color: 'rgba(211, 84, 0, 0.10)'})
        })}),
        new ol.layer.Vector({source: installations, style: function (feature) {
          if (selected[feature.getId()]) { return styles.chosen; }
          return feature.get('en_cours') ? styles.busy : styles.free;
        }})
      ],
      view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 10})
    });
    target.olMap = map;  // for browser tests and the console
    communes.once('featuresloadend', function () {
      map.getView().fit(communes.getExtent(), {padding: [10, 10, 10, 10]});
    });

    function checkedCommunes() {
      return Array.prototype.filter.call(form.querySelectorAll('input[name=communes]'),
        function (box) { return box.checked; }).map(function (box) { return box.value; });
    }

    function preview() {
      var area = areaField.value.trim();
      var payload = {area: area || null, communes: checkedCommunes(),
                     due_before: form.elements.due_before.value || null};
      if (!area && !payload.communes.length) {
        selected = {};
        installations.changed();
        status.textContent = status.dataset.empty;
        return;
      }
      fetch(target.dataset.selectionUrl, {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json',
                  'X-CSRFToken': form.elements.csrfmiddlewaretoken.value},
        body: JSON.stringify(payload)
      }).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (answer) {
        selected = {};
        if (!answer.ok) {
          status.textContent = answer.body.error;
        } else {
          answer.body.ids.forEach(function (id) { selected[id] = true; });
          status.textContent = status.dataset.count.replace('%(count)s', answer.body.count);
        }
        installations.changed();
      }).catch(function () { status.textContent = status.dataset.failed; });
    }

    var draw = new ol.interaction.Draw({source: zone, type: 'Polygon'});
    draw.setActive(false);
    map.addInteraction(draw);
    var drawButton = tools.querySelector('[data-action=draw]');
    function setDrawing(active) {
      draw.setActive(active);
      drawButton.setAttribute('aria-pressed', String(active));
      target.style.cursor = active ? 'crosshair' : '';
    }
    draw.on('drawstart', function () { zone.clear(); });
    draw.on('drawend', function (event) {
      setDrawing(false);
      areaField.value = lonlat.writeGeometry(event.feature.getGeometry(), {decimals: 6});
      preview();
    });

    tools.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-action]');
      if (!button) { return; }
      event.preventDefault();
      if (button.dataset.action === 'draw') {
        setDrawing(!draw.getActive());
      } else if (button.dataset.action === 'clear') {
        zone.clear();
        areaField.value = '';
        setDrawing(false);
        preview();
      }
    });
    form.addEventListener('change', function (event) {
      if (event.target.name === 'communes' || event.target.name === 'due_before' ||
          event.target.name === 'area') {
        if (event.target.name === 'area') { showArea(); }
        preview();
      }
    });

    function showArea() {  // a pasted GeoJSON is drawn too
      zone.clear();
      try {
        var text = areaField.value.trim();
        if (text) { zone.addFeature(new ol.Feature(lonlat.readGeometry(JSON.parse(text)))); }
      } catch (error) { /* the server says what is wrong */ }
    }
    if (areaField.value.trim()) { showArea(); installations.once('featuresloadend', preview); }
  });
}());
