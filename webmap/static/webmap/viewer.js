/* C@p Géo web map viewer (/carte/): OpenLayers from the platform's npm copy, every layer drawn by
 * the platform's own WMS (/ows), which applies the access policy. The configuration (layers the
 * visitor may view, basemaps, saved map) and the translated texts come from the page as JSON.
 * Plain script using the global `ol` and `proj4`; no bundler. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("wm-config").textContent);
  const MSG = JSON.parse(document.getElementById("wm-messages").textContent);
  const $ = (id) => document.getElementById(id);

  function t(key, values) {
    return MSG[key].replace(/%\((\w+)\)s/g, (_, name) => (values && name in values ? values[name] : ""));
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  }

  // Measures written as the page's language writes numbers (base.html sets <html lang>).
  const LANG = document.documentElement.lang || "fr";
  const number = (digits) => new Intl.NumberFormat(LANG, { maximumFractionDigits: digits, minimumFractionDigits: digits });

  proj4.defs("EPSG:2154", "+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 " +
    "+y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs");
  ol.proj.proj4.register(proj4);

  const catalogue = new Map();
  config.themes.forEach((theme) => theme.layers.forEach((info) => catalogue.set(info.name, info)));
  const basemapByName = new Map(config.basemaps.map((b) => [b.name, b]));

  // --- notices and loading -------------------------------------------------------------------
  function notify(text, kind) {
    const box = $("wm-notices");
    if ([...box.querySelectorAll(".wm-notice-text")].some((p) => p.textContent === text)) return;
    const close = el("button", { type: "button", className: "wm-notice-close", "aria-label": MSG.close, text: "×" });
    const notice = el("div", { className: "wm-notice wm-notice-" + (kind || "warning") },
      [el("p", { className: "wm-notice-text", text: text }), close]);
    close.addEventListener("click", () => notice.remove());
    box.append(notice);
  }

  let pending = 0;
  function loading(delta) {
    pending = Math.max(0, pending + delta);
    const box = $("wm-loading");
    box.hidden = pending === 0;
    box.textContent = pending ? MSG.loading : "";
    document.body.dataset.mapLoading = pending ? "true" : "false";
  }

  // --- WMS layers ----------------------------------------------------------------------------
  function wmsLayer(name, style, opacity, title, className) {
    const source = new ol.source.ImageWMS({
      url: config.urls.ows,
      params: { LAYERS: name, STYLES: style || "", FORMAT: "image/png", TRANSPARENT: true, VERSION: "1.3.0" },
      ratio: 1,
      attributions: (catalogue.get(name) || {}).attribution || undefined,
    });
    let failed = false;
    source.on("imageloadstart", () => loading(1));
    source.on("imageloadend", () => { loading(-1); failed = false; });
    source.on("imageloaderror", () => {
      loading(-1);
      if (!failed) notify(t("layerError", { title: title || name }), "error");
      failed = true;
    });
    return new ol.layer.Image({ source: source, opacity: opacity, properties: { name: name }, className: className || "ol-layer" });
  }

  // Layers on the map, bottom to top: {name, style, opacity, info, layer}.
  const active = [];
  let basemapName = config.initial.basemap;
  let basemapLayer = null;

  const view = new ol.View({ projection: "EPSG:3857", maxZoom: 21, minZoom: 3, constrainResolution: false });
  const map = new ol.Map({
    target: "map",
    view: view,
    controls: ol.control.defaults.defaults({ attributionOptions: { collapsible: true } }).extend([
      new ol.control.ScaleLine({ units: "metric", bar: true, steps: 4, text: true, minWidth: 120 }),
    ]),
  });

  function setBasemap(name) {
    const entry = basemapByName.get(name) || config.basemaps[0];
    basemapName = entry.name;
    if (basemapLayer) map.removeLayer(basemapLayer);
    basemapLayer = null;
    if (entry.layer) {
      basemapLayer = wmsLayer(entry.layer, "", entry.opacity, entry.title, "ol-layer wm-basemap-layer");
      basemapLayer.setZIndex(0);
      map.addLayer(basemapLayer);
    }
    document.querySelectorAll("#wm-basemaps input").forEach((input) => { input.checked = input.value === basemapName; });
    stateChanged();
  }

  function addLayer(name, style, opacity) {
    const info = catalogue.get(name);
    if (!info || active.some((e) => e.name === name)) return;
    const entry = { name: name, style: style || "", opacity: opacity === undefined ? 1 : opacity, info: info };
    entry.layer = wmsLayer(name, entry.style, entry.opacity, info.title);
    active.push(entry);
    map.addLayer(entry.layer);
    layersChanged();
  }

  function removeLayer(name) {
    const index = active.findIndex((e) => e.name === name);
    if (index < 0) return;
    map.removeLayer(active[index].layer);
    active.splice(index, 1);
    layersChanged();
  }

  function moveLayer(name, delta) {
    const index = active.findIndex((e) => e.name === name);
    const target = index + delta;
    if (index < 0 || target < 0 || target >= active.length) return;
    const [entry] = active.splice(index, 1);
    active.splice(target, 0, entry);
    layersChanged();
    const button = document.querySelector(`#wm-order li[data-layer="${name}"] [data-move="${delta}"]`);
    if (button && !button.disabled) button.focus();
  }

  function layersChanged() {
    active.forEach((entry, index) => entry.layer.setZIndex(index + 1));
    document.querySelectorAll("#wm-tree input[type=checkbox]").forEach((box) => {
      box.checked = active.some((e) => e.name === box.value);
    });
    renderOrder();
    stateChanged();
  }

  // --- panel: basemaps, theme tree, display order --------------------------------------------
  function renderBasemaps() {
    const box = $("wm-basemaps");
    config.basemaps.forEach((entry) => {
      const id = "wm-basemap-" + entry.name;
      const input = el("input", { type: "radio", name: "basemap", id: id, value: entry.name });
      input.addEventListener("change", () => setBasemap(entry.name));
      box.append(el("div", { className: "wm-radio" }, [input, el("label", { for: id, text: entry.title })]));
    });
  }

  function zoomTo(extent) {
    if (!extent) return;
    view.fit(ol.extent.buffer(extent, 30), { padding: [40, 40, 40, 40], maxZoom: 17, duration: 250 });
  }

  function renderTree() {
    const tree = $("wm-tree");
    config.themes.forEach((theme) => {
      const list = el("ul");
      theme.layers.forEach((info) => {
        const id = "wm-layer-" + info.name;
        const box = el("input", { type: "checkbox", id: id, value: info.name });
        box.addEventListener("change", () => (box.checked ? addLayer(info.name) : removeLayer(info.name)));
        const zoom = el("button", { type: "button", className: "wm-icon", "aria-label": t("zoomTo", { title: info.title }), title: t("zoomTo", { title: info.title }), text: "⤢", disabled: !info.extent });
        zoom.addEventListener("click", () => zoomTo(info.extent));
        const sheet = el("a", { className: "wm-icon", href: info.metadata_url, "aria-label": t("metadata", { title: info.title }), title: t("metadata", { title: info.title }), text: "i" });
        list.append(el("li", { "data-layer": info.name }, [
          el("div", { className: "wm-layer-row" }, [box, el("label", { for: id, text: info.title }), zoom, sheet]),
        ]));
      });
      tree.append(el("details", { open: true, className: "wm-theme" }, [el("summary", { text: theme.title }), list]));
    });
  }

  function legendUrl(entry) {
    const params = new URLSearchParams({ SERVICE: "WMS", VERSION: "1.3.0", REQUEST: "GetLegendGraphic", LAYER: entry.name, STYLE: entry.style, FORMAT: "image/png", SLD_VERSION: "1.1.0" });
    return config.urls.ows + "?" + params.toString();
  }

  function renderOrder() {
    const list = $("wm-order");
    list.replaceChildren();
    if (!active.length) {
      list.append(el("li", { className: "wm-empty", text: MSG.orderEmpty }));
      return;
    }
    active.slice().reverse().forEach((entry, position) => {
      const title = entry.info.title;
      const up = el("button", { type: "button", className: "wm-icon", "data-move": "1", "aria-label": t("moveUp", { title }), title: t("moveUp", { title }), text: "↑", disabled: position === 0 });
      const down = el("button", { type: "button", className: "wm-icon", "data-move": "-1", "aria-label": t("moveDown", { title }), title: t("moveDown", { title }), text: "↓", disabled: position === active.length - 1 });
      up.addEventListener("click", () => moveLayer(entry.name, 1));
      down.addEventListener("click", () => moveLayer(entry.name, -1));
      const sliderId = "wm-opacity-" + entry.name;
      const slider = el("input", { type: "range", id: sliderId, min: "0", max: "100", step: "5", value: String(Math.round(entry.opacity * 100)) });
      slider.addEventListener("input", () => {
        entry.opacity = Number(slider.value) / 100;
        entry.layer.setOpacity(entry.opacity);
        stateChanged();
      });
      const legend = el("details", { className: "wm-legend" }, [el("summary", { text: t("legend", { title }) })]);
      legend.addEventListener("toggle", () => {
        if (legend.open && !legend.querySelector("img")) legend.append(el("img", { src: legendUrl(entry), alt: t("legendAlt", { title }) }));
      });
      list.append(el("li", { "data-layer": entry.name }, [
        el("div", { className: "wm-layer-row" }, [el("span", { className: "wm-layer-title", text: title }), up, down]),
        el("div", { className: "wm-opacity" }, [el("label", { for: sliderId, text: t("opacity", { title }) }), slider]),
        legend,
      ]));
    });
  }

  // --- permalink -----------------------------------------------------------------------------
  let restoring = true;
  function permalinkHash() {
    const center = ol.proj.toLonLat(view.getCenter());
    const params = new URLSearchParams();
    params.set("centre", center[0].toFixed(6) + "," + center[1].toFixed(6));
    params.set("zoom", view.getZoom().toFixed(3));
    params.set("couches", active.map((e) => [e.name, Number(e.opacity.toFixed(2))].concat(e.style ? [e.style] : []).join(":")).join(","));
    params.set("fond", basemapName);
    return params.toString().replace(/%2C/g, ",").replace(/%3A/g, ":");
  }

  function stateChanged() {
    if (restoring || !view.getCenter()) return;
    history.replaceState(null, "", "#" + permalinkHash());
  }

  function parseLayers(text) {
    const unknown = [];
    const layers = [];
    text.split(",").filter(Boolean).forEach((part) => {
      const [name, opacityText, style] = part.split(":");
      if (!catalogue.has(name)) { unknown.push(name.slice(0, 60)); return; }
      let opacity = opacityText === undefined || opacityText === "" ? 1 : Number(opacityText);
      if (!Number.isFinite(opacity)) opacity = 1;
      const styles = catalogue.get(name).styles.map((s) => s.name);
      layers.push({ name: name, opacity: Math.min(1, Math.max(0, opacity)), style: style && styles.includes(style) ? style : "" });
    });
    if (unknown.length) notify(t("unknownLayers", { names: unknown.join(", ") }));
    return layers;
  }

  // {center, zoom} or {extent} in EPSG:3857 from the link, null when absent; notice when absurd.
  function parseView(params) {
    if (params.has("centre") || params.has("zoom")) {
      const [lon, lat] = (params.get("centre") || "").split(",").map(Number);
      const zoom = Number(params.get("zoom"));
      if ([lon, lat, zoom].every(Number.isFinite) && Math.abs(lon) <= 180 && Math.abs(lat) <= 85 && zoom >= 3 && zoom <= 21) {
        return { center: ol.proj.fromLonLat([lon, lat]), zoom: zoom };
      }
      notify(MSG.badExtent);
      return null;
    }
    if (params.has("emprise")) {
      const box = (params.get("emprise") || "").split(",").map(Number);
      if (box.length === 4 && box.every(Number.isFinite) && box[0] < box[2] && box[1] < box[3] &&
          box[0] >= -180 && box[2] <= 180 && box[1] >= -85 && box[3] <= 85) {
        return { extent: ol.proj.transformExtent(box, "EPSG:4326", "EPSG:3857") };
      }
      notify(MSG.badExtent);
    }
    return null;
  }

  function restore() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    let layers = config.initial.layers.filter((l) => l.visible !== false);
    if (params.has("couches")) layers = parseLayers(params.get("couches"));
    let basemap = config.initial.basemap;
    if (params.has("fond")) {
      if (basemapByName.has(params.get("fond"))) basemap = params.get("fond");
      else notify(t("badLink", { part: "fond" }));
    }
    renderBasemaps();
    renderTree();
    setBasemap(basemap);
    layers.forEach((l) => addLayer(l.name, l.style, l.opacity));
    layersChanged();
    const linked = parseView(params);
    if (linked && linked.center) {
      view.setCenter(linked.center);
      view.setZoom(linked.zoom);
    } else {
      view.fit(linked ? linked.extent : config.initial.extent || config.territory_extent, { size: map.getSize(), padding: [20, 20, 20, 20] });
    }
    config.notices.forEach((text) => notify(text));
    restoring = false;
    stateChanged();
  }

  map.on("moveend", stateChanged);

  // --- identify ------------------------------------------------------------------------------
  const popup = $("wm-popup");
  const popupOverlay = new ol.Overlay({ element: popup, autoPan: { animation: { duration: 200 } }, positioning: "bottom-center", offset: [0, -10] });
  map.addOverlay(popupOverlay);
  popup.querySelector(".wm-popup-close").addEventListener("click", () => closePopup(true));
  popup.addEventListener("keydown", (event) => { if (event.key === "Escape") closePopup(true); });

  function closePopup(returnFocus) {
    if (!popup.hidden) highlightSource.clear();
    popup.hidden = true;
    popupOverlay.setPosition(undefined);
    if (returnFocus) $("map").focus();
  }

  function showPopup(coordinate, title, body) {
    popup.querySelector("#wm-popup-title").textContent = title;
    popup.querySelector(".wm-popup-body").replaceChildren(...body);
    popup.hidden = false;
    popupOverlay.setPosition(coordinate);
  }

  function featureTable(feature) {
    const rows = Object.entries(feature.properties || {}).map(([name, value]) =>
      el("tr", {}, [el("th", { scope: "row", text: name }), el("td", { text: value === null ? "—" : String(value) })]));
    return el("table", { className: "wm-attributes" }, [
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: MSG.attributes }), el("th", { scope: "col", text: MSG.value })])]),
      el("tbody", {}, rows),
    ]);
  }

  async function identify(coordinate) {
    const queried = active.filter((e) => e.info.queryable).reverse();  // top layer first
    if (!queried.length) {
      showPopup(coordinate, MSG.popupTitle, [el("p", { text: MSG.identifyNoLayer })]);
      return;
    }
    showPopup(coordinate, MSG.popupTitle, [el("p", { className: "wm-status", text: MSG.identifying })]);
    const resolution = view.getResolution();
    const answers = await Promise.all(queried.map(async (entry) => {
      const url = entry.layer.getSource().getFeatureInfoUrl(coordinate, resolution, "EPSG:3857",
        { INFO_FORMAT: "application/json", FEATURE_COUNT: 10, QUERY_LAYERS: entry.name });
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        return { entry: entry, features: (await response.json()).features || [] };
      } catch (error) {
        return { entry: entry, error: true };
      }
    }));
    const body = [];
    highlightSource.clear();
    const geojson = new ol.format.GeoJSON();
    answers.forEach((answer) => {
      (answer.features || []).forEach((feature) => {
        if (feature.geometry) highlightSource.addFeature(geojson.readFeature(feature));
      });
      if (answer.error) {
        body.push(el("p", { className: "wm-error", text: t("identifyError", { title: answer.entry.info.title }) }));
      } else if (answer.features.length) {
        body.push(el("h3", { text: answer.entry.info.title }));
        answer.features.forEach((feature) => body.push(featureTable(feature)));
      }
    });
    if (!body.length) body.push(el("p", { text: MSG.noFeature }));
    showPopup(coordinate, MSG.popupTitle, body);
    popup.querySelector("#wm-popup-title").focus({ preventScroll: true });
  }

  // --- tools: identify, measure --------------------------------------------------------------
  const sketchSource = new ol.source.Vector();
  const sketchStyle = new ol.style.Style({
    fill: new ol.style.Fill({ color: "rgba(240, 165, 0, 0.2)" }),
    stroke: new ol.style.Stroke({ color: "#b35900", width: 3, lineDash: [8, 6] }),
    image: new ol.style.Circle({ radius: 5, fill: new ol.style.Fill({ color: "#b35900" }) }),
  });
  map.addLayer(new ol.layer.Vector({ source: sketchSource, style: sketchStyle, zIndex: 1000 }));
  const highlightSource = new ol.source.Vector();
  map.addLayer(new ol.layer.Vector({
    source: highlightSource, zIndex: 999,
    style: new ol.style.Style({
      stroke: new ol.style.Stroke({ color: "#00b4ff", width: 3 }),
      fill: new ol.style.Fill({ color: "rgba(0, 180, 255, 0.15)" }),
      image: new ol.style.Circle({ radius: 8, stroke: new ol.style.Stroke({ color: "#00b4ff", width: 3 }) }),
    }),
  }));

  let tool = "identify";
  let draw = null;

  function formatLength(metres) {
    return metres < 1000 ? number(0).format(metres) + " m" : number(2).format(metres / 1000) + " km";
  }

  function formatArea(squareMetres) {
    if (squareMetres < 10000) return number(0).format(squareMetres) + " m²";
    if (squareMetres < 1e6) return number(2).format(squareMetres / 10000) + " ha";
    return number(2).format(squareMetres / 1e6) + " km² (" + number(0).format(squareMetres / 10000) + " ha)";
  }

  function measureText(geometry) {
    return geometry.getType() === "Polygon"
      ? t("measureArea", { value: formatArea(ol.sphere.getArea(geometry)) })
      : t("measureLength", { value: formatLength(ol.sphere.getLength(geometry)) });
  }

  function setTool(name) {
    tool = name;
    document.querySelectorAll(".wm-toolbar [data-tool]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.tool === name));
    });
    if (draw) map.removeInteraction(draw);
    draw = null;
    sketchSource.clear();
    const output = $("wm-measure");
    output.hidden = name === "identify";
    output.textContent = name === "identify" ? "" : MSG.measureHint;
    if (name === "identify") return;
    closePopup();
    draw = new ol.interaction.Draw({ source: sketchSource, type: name === "length" ? "LineString" : "Polygon", style: sketchStyle });
    draw.on("drawstart", (event) => {
      sketchSource.clear();
      event.feature.getGeometry().on("change", (change) => { output.textContent = measureText(change.target); });
    });
    draw.on("drawend", (event) => { output.textContent = measureText(event.feature.getGeometry()); });
    map.addInteraction(draw);
  }

  document.querySelectorAll(".wm-toolbar [data-tool]").forEach((button) => {
    button.addEventListener("click", () => setTool(button.dataset.tool));
  });

  map.on("singleclick", (event) => { if (tool === "identify") identify(event.coordinate); });
  $("map").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && tool === "identify") identify(view.getCenter());
    if (event.key === "Escape") { if (draw) setTool("identify"); closePopup(false); }
  });

  // --- coordinates ---------------------------------------------------------------------------
  function showCoordinates(coordinate) {
    const l93 = ol.proj.transform(coordinate, "EPSG:3857", "EPSG:2154");
    const lonLat = ol.proj.toLonLat(coordinate);
    $("wm-coords-l93").textContent = "X " + number(0).format(l93[0]) + " · Y " + number(0).format(l93[1]);
    $("wm-coords-wgs84").textContent = number(5).format(Math.abs(lonLat[1])) + (lonLat[1] >= 0 ? " N" : " S") +
      " · " + number(5).format(Math.abs(lonLat[0])) + (lonLat[0] >= 0 ? " E" : " O");
  }
  map.on("pointermove", (event) => { if (!event.dragging) showCoordinates(event.coordinate); });
  map.on("click", (event) => showCoordinates(event.coordinate));

  // --- search --------------------------------------------------------------------------------
  const searchInput = $("wm-search-input");
  const searchStatus = $("wm-search-status");
  const searchResults = $("wm-search-results");
  let searchTimer = null;
  let searchAbort = null;

  function goTo(result) {
    highlightSource.clear();
    highlightSource.addFeature(new ol.Feature(ol.geom.Polygon.fromExtent(result.extent)));
    view.fit(ol.extent.buffer(result.extent, 100), { padding: [40, 40, 40, 40], maxZoom: 17, duration: 300 });
    searchStatus.textContent = result.label;
  }

  function renderResults(data, text) {
    searchResults.replaceChildren();
    if (data.error) { searchStatus.textContent = t("searchError", { error: data.error }); return; }
    if (data.message) { searchStatus.textContent = data.message; return; }
    if (!data.groups.length) { searchStatus.textContent = t("searchNone", { text: text }); return; }
    searchStatus.textContent = "";
    data.groups.forEach((group) => {
      const list = el("ul");
      group.results.forEach((result) => {
        const button = el("button", { type: "button", className: "wm-result", text: result.label });
        button.addEventListener("click", () => goTo(result));
        list.append(el("li", {}, [button]));
      });
      searchResults.append(el("h3", { text: group.title }), list);
    });
  }

  async function runSearch() {
    const text = searchInput.value.trim();
    if (searchAbort) searchAbort.abort();
    if (text.length < 2) { searchResults.replaceChildren(); searchStatus.textContent = ""; return; }
    searchAbort = new AbortController();
    searchStatus.textContent = MSG.searching;
    try {
      const response = await fetch(config.urls.search + "?" + new URLSearchParams({ q: text }), { signal: searchAbort.signal, credentials: "same-origin" });
      renderResults(await response.json(), text);
    } catch (error) {
      if (error.name !== "AbortError") searchStatus.textContent = MSG.networkError;
    }
  }

  searchInput.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 250); });
  searchInput.addEventListener("keydown", async (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(searchTimer);
      await runSearch();
      const first = searchResults.querySelector("button");
      if (first) first.click();
    } else if (event.key === "ArrowDown") {
      const first = searchResults.querySelector("button");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  // --- permalink button ----------------------------------------------------------------------
  $("wm-permalink-button").addEventListener("click", async () => {
    const box = $("wm-permalink");
    const input = $("wm-permalink-input");
    history.replaceState(null, "", "#" + permalinkHash());
    input.value = location.href;
    box.hidden = false;
    $("wm-permalink-label").textContent = MSG.permalinkReady;
    input.focus();
    input.select();
    try {
      await navigator.clipboard.writeText(location.href);
      $("wm-permalink-label").textContent = MSG.permalinkCopied;
    } catch (error) { /* the link stays selected in the box, ready to copy */ }
  });

  // --- exports -------------------------------------------------------------------------------
  function download(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  // The map's canvases composed into one (OpenLayers' export example), on a white page.
  function composeMap(callback) {
    map.once("rendercomplete", () => {
      const size = map.getSize();
      const ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(size[0] * ratio);
      canvas.height = Math.round(size[1] * ratio);
      const context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      map.getViewport().querySelectorAll(".ol-layer canvas, canvas.ol-layer").forEach((layerCanvas) => {
        if (layerCanvas.width === 0) return;
        const opacity = layerCanvas.parentNode.style.opacity || layerCanvas.style.opacity;
        context.globalAlpha = opacity === "" ? 1 : Number(opacity);
        const filter = getComputedStyle(layerCanvas.parentNode).filter;
        context.filter = filter && filter !== "none" ? filter : "none";
        const transform = layerCanvas.style.transform;
        const matrix = transform && transform.startsWith("matrix")
          ? transform.match(/^matrix\(([^(]*)\)$/)[1].split(",").map(Number)
          : [parseFloat(layerCanvas.style.width) / layerCanvas.width, 0, 0, parseFloat(layerCanvas.style.height) / layerCanvas.height, 0, 0];
        context.setTransform(matrix[0] * ratio, matrix[1], matrix[2], matrix[3] * ratio, matrix[4] * ratio, matrix[5] * ratio);
        context.drawImage(layerCanvas, 0, 0);
      });
      context.globalAlpha = 1;
      context.filter = "none";
      context.setTransform(1, 0, 0, 1, 0, 0);
      callback(canvas);
    });
    map.renderSync();
  }

  $("wm-export-png").addEventListener("click", () => {
    loading(1);
    composeMap((canvas) => {
      try {
        canvas.toBlob((blob) => {
          loading(-1);
          if (blob) download(blob, "carte-" + today() + ".png");
          else notify(t("exportPngError", { error: "canvas" }), "error");
        }, "image/png");
      } catch (error) {
        loading(-1);
        notify(t("exportPngError", { error: error.message }), "error");
      }
    });
  });

  const printForm = $("wm-print");
  $("wm-export-pdf").addEventListener("click", (event) => {
    printForm.hidden = !printForm.hidden;
    event.currentTarget.setAttribute("aria-expanded", String(!printForm.hidden));
    if (!printForm.hidden) $("wm-print-title").focus();
  });

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function printLayers() {
    const layers = [];
    const base = basemapByName.get(basemapName);
    if (base && base.layer) layers.push({ name: base.layer, style: "", opacity: base.opacity });
    active.forEach((e) => layers.push({ name: e.name, style: e.style, opacity: e.opacity }));
    return layers;
  }

  printForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(printForm);
    const body = {
      title: String(form.get("title") || MSG.untitledMap).slice(0, 120),
      format: form.get("format"), paper: form.get("paper"), orientation: form.get("orientation"),
      crs: "EPSG:3857", bbox: view.calculateExtent(map.getSize()).map((v) => Math.round(v * 100) / 100),
      layers: printLayers(),
    };
    loading(1);
    try {
      const response = await fetch(config.urls.print, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      const type = response.headers.get("Content-Type") || "";
      if (response.status === 404 || response.status === 405) { notify(MSG.printUnavailable, "error"); return; }
      if (!response.ok || type.includes("json")) {
        let message = String(response.status);
        try { message = (await response.json()).error || message; } catch (error) { /* not JSON */ }
        notify(t("printError", { error: message }), "error");
        return;
      }
      const filename = "carte-" + today() + "." + (type.includes("pdf") ? "pdf" : "png");
      download(await response.blob(), filename);
      $("wm-measure").hidden = false;
      $("wm-measure").textContent = t("printDone", { file: filename });
    } catch (error) {
      notify(MSG.networkError, "error");
    } finally {
      loading(-1);
    }
  });

  // --- responsive panel ----------------------------------------------------------------------
  const toggle = $("wm-panel-toggle");
  function setPanel(open) {
    $("webmap").classList.toggle("wm-panel-closed", !open);
    toggle.setAttribute("aria-expanded", String(open));
    map.updateSize();
  }
  toggle.addEventListener("click", () => setPanel(toggle.getAttribute("aria-expanded") !== "true"));
  if (window.matchMedia("(max-width: 700px)").matches) setPanel(false);

  restore();
  map.on("rendercomplete", () => { document.body.dataset.mapRendered = "true"; });
  // For tests and integrations: the OpenLayers map and the current state.
  window.capgeoViewer = {
    map: map,
    activeLayers: () => active.map((e) => ({ name: e.name, opacity: e.opacity, style: e.style })),
    basemap: () => basemapName,
    pending: () => pending,
  };
})();
