/* Reporting form (progressive enhancement: without JavaScript the form works with typed
 * coordinates). Adds the map (click or tap to place the point, keyboard: arrows move the map,
 * Enter places the point at its centre), "use my position", the place search of the catalogue,
 * the fields of the chosen category, and the possible duplicates with their "support" button. */
(function () {
  'use strict';
  function ready(fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
  }
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }
  // The page's texts (signalements/views.py, translated on the server), %(name)s filled here.
  var messagesEl = document.getElementById('report-form-messages');
  var MESSAGES = messagesEl ? JSON.parse(messagesEl.textContent) : {};
  var LANG = document.documentElement.lang || 'fr';
  function t(key, values) {
    var message = MESSAGES[key];
    if (message === undefined) { return key; }
    if (typeof message === 'object') {
      message = new Intl.PluralRules(LANG).select(Number(values.count)) === 'one'
        ? message.one : message.other;
    }
    return message.replace(/%\((\w+)\)s/g, function (match, name) {
      return values && name in values ? String(values[name]) : match;
    });
  }

  ready(function () {
    var form = document.getElementById('report-form');
    if (!form) { return; }
    var summary = document.getElementById('error-summary');
    if (summary) { summary.focus(); }
    var key = form.elements.cle_envoi;
    if (key && !key.value) {  // one key per filled form: a double submission stores one report
      key.value = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
        : String(Date.now()) + Math.random().toString(16).slice(2);
    }
    var category = form.elements.categorie;
    var lon = form.elements.longitude, lat = form.elements.latitude;
    var description = form.elements.description;

    // --- fields of the chosen category ----------------------------------------------------
    function showCategoryFields() {
      Array.prototype.forEach.call(form.querySelectorAll('.category-fields'), function (set) {
        var on = set.dataset.category === category.value;
        set.hidden = !on;
        set.disabled = !on;
      });
      var option = category.options[category.selectedIndex];
      document.getElementById('anonymous-note').hidden = !(option && option.dataset.anonymous === '0');
    }
    category.addEventListener('change', function () { showCategoryFields(); lookForDuplicates(); });
    showCategoryFields();

    // --- map --------------------------------------------------------------------------------
    var mapEl = document.getElementById('report-map');
    var status = document.getElementById('point-status');
    var map = null, marker = null;
    if (window.ol && mapEl) {
      mapEl.hidden = false;
      document.getElementById('map-tools').hidden = false;
      var lonlat = new ol.format.GeoJSON({dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857'});
      var communes = new ol.source.Vector({url: form.dataset.communesUrl, format: lonlat,
        attributions: 'IGN – ADMIN EXPRESS, Licence Ouverte 2.0'});
      marker = new ol.Feature();
      var markerSource = new ol.source.Vector({features: [marker]});
      map = new ol.Map({
        target: mapEl,
        layers: [
          new ol.layer.Vector({source: communes, style: new ol.style.Style({
            stroke: new ol.style.Stroke({color: '#1f5f8b', width: 1}),
            fill: new ol.style.Fill({color: 'rgba(255, 255, 255, 0.9)'}),
            text: new ol.style.Text({font: '12px sans-serif'})})}),
          new ol.layer.Vector({source: markerSource, style: new ol.style.Style({
            image: new ol.style.Circle({radius: 9, fill: new ol.style.Fill({color: '#c0392b'}),
              stroke: new ol.style.Stroke({color: '#fff', width: 3})})})})
        ],
        view: new ol.View({center: ol.proj.fromLonLat([-2.40, 47.33]), zoom: 11})
      });
      mapEl.olMap = map;  // for browser tests and the console
      mapEl.tabIndex = 0;
      map.on('click', function (event) { place(ol.proj.toLonLat(event.coordinate)); });
      mapEl.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          place(ol.proj.toLonLat(map.getView().getCenter()));
        }
      });
      if (lon.value && lat.value && isFinite(+lon.value) && isFinite(+lat.value)) {
        marker.setGeometry(new ol.geom.Point(ol.proj.fromLonLat([+lon.value, +lat.value])));
        map.getView().setCenter(ol.proj.fromLonLat([+lon.value, +lat.value]));
        map.getView().setZoom(17);
      }
    }

    function place(coords) {
      lon.value = coords[0].toFixed(6);
      lat.value = coords[1].toFixed(6);
      if (marker) { marker.setGeometry(new ol.geom.Point(ol.proj.fromLonLat(coords))); }
      status.textContent = t('placed', {lat: lat.value, lon: lon.value});
      lookForDuplicates();
    }
    [lon, lat].forEach(function (input) {
      input.addEventListener('change', function () {
        if (isFinite(+lon.value) && isFinite(+lat.value) && lon.value && lat.value) {
          place([+lon.value, +lat.value]);
          if (map) { map.getView().setCenter(ol.proj.fromLonLat([+lon.value, +lat.value])); map.getView().setZoom(17); }
        }
      });
    });

    // --- my position --------------------------------------------------------------------------
    var locate = document.getElementById('locate-me');
    if (locate) {
      locate.addEventListener('click', function () {
        if (!navigator.geolocation) { status.textContent = t('noGeolocation'); return; }
        status.textContent = t('locating');
        navigator.geolocation.getCurrentPosition(function (pos) {
          var c = [pos.coords.longitude, pos.coords.latitude];
          place(c);
          if (map) { map.getView().setCenter(ol.proj.fromLonLat(c)); map.getView().setZoom(18); }
        }, function () {
          status.textContent = t('locationRefused');
        }, {enableHighAccuracy: true, timeout: 15000});
      });
    }

    // --- place search (the catalogue's search: communes and searchable layers) ---------------
    var search = document.getElementById('place-search');
    var results = document.getElementById('place-results');
    var searchTimer = null;
    if (search) {
      search.addEventListener('input', function () {
        clearTimeout(searchTimer);
        searchTimer = setTimeout(runSearch, 300);
      });
      search.addEventListener('keydown', function (event) {
        if (event.key === 'Enter') { event.preventDefault(); runSearch(); }
      });
    }
    function runSearch() {
      var q = search.value.trim();
      results.textContent = '';
      if (q.length < 2) { return; }
      fetch(form.dataset.searchUrl + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          results.textContent = '';
          (data.groups || []).forEach(function (group) {
            group.results.forEach(function (item) {
              var li = document.createElement('li');
              var button = text('button', item.label + ' (' + group.title + ')');
              button.type = 'button';
              button.addEventListener('click', function () {
                if (map) { map.getView().fit(item.extent, {maxZoom: 18, padding: [20, 20, 20, 20]}); }
                var centre = ol.proj.toLonLat(ol.extent.getCenter(item.extent));
                status.textContent = t('placeChosen', {label: item.label});
                if (!lon.value) { lon.dataset.suggested = centre[0]; }
                mapEl.focus();
              });
              li.appendChild(button);
              results.appendChild(li);
            });
          });
          if (!results.children.length) { results.appendChild(text('li', data.message || data.error || t('noResult'))); }
        });
    }

    // --- possible duplicates ------------------------------------------------------------------
    var box = document.getElementById('duplicates');
    var list = document.getElementById('duplicates-list');
    var supportStatus = document.getElementById('support-status');
    var dupTimer = null;
    description.addEventListener('input', function () {
      clearTimeout(dupTimer);
      dupTimer = setTimeout(lookForDuplicates, 600);
    });
    function csrf() {
      var el = form.querySelector('input[name=csrfmiddlewaretoken]');
      return el ? el.value : '';
    }
    function lookForDuplicates() {
      if (!category.value || !lon.value || !lat.value) { return; }
      var url = form.dataset.duplicatesUrl + '?categorie=' + encodeURIComponent(category.value)
        + '&longitude=' + encodeURIComponent(lon.value) + '&latitude=' + encodeURIComponent(lat.value)
        + '&texte=' + encodeURIComponent(description.value.slice(0, 500));
      fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : {doublons: []}; })
        .then(function (data) {
          list.textContent = '';
          var found = data.doublons || [];
          box.hidden = !found.length;
          found.forEach(function (item) {
            var li = document.createElement('li');
            li.appendChild(text('strong', item.categorie + ' — ' + item.reference));
            var reported = new Date(item.signale_le + 'T00:00:00Z').toLocaleDateString(LANG, {timeZone: 'UTC'});
            li.appendChild(text('span', ' · ' + t('duplicate', {status: item.statut,
              distance: item.distance_m, date: reported}) + ' · ' + t('supports', {count: item.soutiens})));
            var p = text('p', item.description);
            li.appendChild(p);
            item.photos.forEach(function (src) {
              var img = document.createElement('img');
              img.src = src; img.alt = t('photoAlt', {reference: item.reference});
              li.appendChild(img);
            });
            var button = text('button', t('sameProblem', {reference: item.reference}), 'secondary-button');
            button.type = 'button';
            button.addEventListener('click', function () {
              button.disabled = true;
              fetch(item.soutenir, {method: 'POST', credentials: 'same-origin',
                headers: {'X-CSRFToken': csrf(), 'Accept': 'application/json'}})
                .then(function (r) { return r.json(); })
                .then(function (answer) {
                  supportStatus.textContent = answer.message || answer.detail || '';
                });
            });
            li.appendChild(button);
            list.appendChild(li);
          });
        });
    }
    lookForDuplicates();
  });
})();
