/* The report (signalement) record type and its form: an agent of a service reports a problem in
 * public space, offline — the place (GPS, a touch on the map, or typed coordinates), the type
 * from those his territory offers (the package's signalement_categories), the type's own fields,
 * a description, photos (Blobs in IndexedDB, SHA-256 by crypto.subtle, sent by the resumable
 * upload after the report). The server routes it to the service (fieldsync/records/signalement.py).
 *
 * Its reports are listed under the assignments ("Mes signalements"), with their state on the
 * tablet and on the server; a report refused or in conflict shows the server's reasons. */
(function (Terrain) {
  "use strict";
  const t = Terrain.t;
  const STORE = "signalements";
  const MAX_PHOTOS = 5;
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  async function sha256Hex(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function categories() {
    return (await Terrain.store.meta("signalement_categories")) || [];
  }

  /* The current content of a local report: its unsent draft, else the server's record. */
  function current(record) {
    const data = (record.draft && record.draft.data) || {};
    return {...(record.server || {}), ...data};
  }

  function stateOf(record) {
    if (record.outcome) {
      return "problem";
    }
    return record.draft ? "pending" : "done";
  }

  // --- the list --------------------------------------------------------------------------------
  function section() {
    let root = document.getElementById("signalements-section");
    if (!root) {
      root = document.createElement("section");
      root.id = "signalements-section";
      root.className = "signalements";
      root.setAttribute("aria-labelledby", "signalements-title");
      document.getElementById("view-list").appendChild(root);
    }
    return root;
  }

  async function showList() {
    const known = await categories();
    const root = section();
    if (!known.length) {
      root.hidden = true;  // the user's account reports nothing (no service): nothing to show
      return;
    }
    root.hidden = false;
    const labels = new Map(known.map((c) => [c.code, c.label]));
    const records = (await Terrain.store.all(STORE)).sort(
      (a, b) => String(current(b).created_at || b.saved_at || "").localeCompare(
        String(current(a).created_at || a.saved_at || "")));
    root.innerHTML = `<h2 id="signalements-title">${esc(t("myReports"))}</h2>
      <button type="button" class="primary new-report">${esc(t("newReport"))}</button>
      <ul class="cards reports">${records.map((record) => {
        const report = current(record);
        const state = stateOf(record);
        const reasons = record.outcome ? record.outcome.reasons || [] : [];
        return `<li class="card state-${state}" data-report="${esc(record.id)}">
          <button type="button" class="open-report" data-report="${esc(record.id)}">
            <strong>${esc(labels.get(report.category) || report.category_label || report.category)}</strong>
            <span>${esc(report.reference || t("statePending"))}${report.service ? " · " + esc(report.service) : ""}</span>
            <span>${esc((report.description || "").slice(0, 80))}</span>
            <span class="badges">${report.status_label ? `<span class="badge">${esc(report.status_label)}</span>` : ""}
            <span class="badge ${state}">${esc(t({pending: "statePending", done: "stateDone", problem: "stateProblem"}[state]))}</span></span>
          </button>
          ${reasons.length ? `<ul class="reasons">${reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
            ${record.outcome.status === "conflict" ? `<button type="button" class="rebase-report" data-report="${esc(record.id)}">${esc(t("rebaseEntry"))}</button>` : ""}
            <button type="button" class="drop-report" data-report="${esc(record.id)}">${esc(t("dropEntry"))}</button>` : ""}
        </li>`;
      }).join("")}</ul>`;
  }

  // --- the form --------------------------------------------------------------------------------
  function fieldInput(field, value, disabled) {
    const name = "attr-" + field.code;
    const label = esc(field.label) + (field.required ? " *" : "");
    const help = field.help ? `<small class="guidance">${esc(field.help)}</small>` : "";
    const choices = field.choices || [];
    if (field.datatype === "singlevaluelist") {
      return `<label for="${name}">${label}</label>
        <select id="${name}" name="${name}" data-field="${esc(field.code)}" ${field.required ? "required" : ""} ${disabled}>
          <option value="">—</option>
          ${choices.map(([code, text]) => `<option value="${esc(code)}" ${String(value) === String(code) ? "selected" : ""}>${esc(text)}</option>`).join("")}
        </select>${help}`;
    }
    if (field.datatype === "multivaluelist") {
      const chosen = new Set(Array.isArray(value) ? value.map(String) : []);
      return `<fieldset data-field="${esc(field.code)}" data-multi="1"><legend>${label}</legend>
        ${choices.map(([code, text]) => `<label class="choice"><input type="checkbox" value="${esc(code)}" ${chosen.has(String(code)) ? "checked" : ""} ${disabled}> ${esc(text)}</label>`).join("")}
        ${help}</fieldset>`;
    }
    const type = {number: "number", datetime: "datetime-local"}[field.datatype] || "text";
    if (field.datatype === "text") {
      return `<label for="${name}">${label}</label>
        <textarea id="${name}" data-field="${esc(field.code)}" rows="3" ${field.required ? "required" : ""} ${disabled}>${esc(value)}</textarea>${help}`;
    }
    return `<label for="${name}">${label}</label>
      <input id="${name}" type="${type}" step="any" data-field="${esc(field.code)}" value="${esc(value)}" ${field.required ? "required" : ""} ${disabled}>${help}`;
  }

  function readFields(root) {
    const values = {};
    root.querySelectorAll("[data-field]").forEach((element) => {
      const code = element.dataset.field;
      if (element.dataset.multi) {
        const chosen = [...element.querySelectorAll("input:checked")].map((i) => i.value);
        if (chosen.length) {
          values[code] = chosen;
        }
      } else if (element.value !== "") {
        values[code] = element.value;
      }
    });
    return values;
  }

  async function open(id) {
    const known = await categories();
    const record = id ? await Terrain.store.get(STORE, id) : null;
    const report = record ? current(record) : {};
    const isNew = !record || !record.server;
    const editable = isNew || (record.server.editable !== false);
    const disabled = editable ? "" : "disabled";
    const fixed = isNew ? "" : "disabled";  // type and place are fixed once on the server
    let photos = ((record && record.draft && record.draft.data.photos) || []).map((p) => ({...p}));
    const onServer = (record && record.server && record.server.photos) || [];
    const groups = new Map();
    known.forEach((c) => groups.set(c.group, [...(groups.get(c.group) || []), c]));
    const coordinates = report.geometry ? report.geometry.coordinates : [];
    const root = document.getElementById("view-form");
    Terrain.app.setView("form");
    root.innerHTML = `<form class="report-form control-form" novalidate>
      <button type="button" class="back">${esc(t("backToList"))}</button>
      <h2>${esc(isNew ? t("newReport") : (report.reference || t("statePending")))}</h2>
      ${record && record.server ? `<p class="muted">${esc(report.status_label || "")} · ${esc(report.service || "")}</p>` : ""}
      ${record && record.outcome ? `<div class="outcome ${esc(record.outcome.status)}" role="alert">
        <ul>${(record.outcome.reasons || []).map((r) => `<li>${esc(r)}</li>`).join("")}</ul></div>` : ""}
      <label for="report-category">${esc(t("reportCategory"))} *</label>
      <select id="report-category" required ${fixed}>
        <option value="">—</option>
        ${[...groups.entries()].map(([group, list]) => `<optgroup label="${esc(group)}">
          ${list.map((c) => `<option value="${esc(c.code)}" ${c.code === report.category ? "selected" : ""}>${esc(c.label)}</option>`).join("")}</optgroup>`).join("")}
      </select>
      <div class="report-fields"></div>
      <fieldset class="report-place"><legend>${esc(t("reportPlace"))} *</legend>
        <div id="report-map" class="map small" aria-label="${esc(t("reportPlace"))}"></div>
        <button type="button" class="locate" ${fixed}>${esc(t("gpsButton"))}</button>
        <label for="report-lon">${esc(t("longitude"))}</label>
        <input id="report-lon" type="number" step="any" value="${esc(coordinates[0])}" ${fixed}>
        <label for="report-lat">${esc(t("latitude"))}</label>
        <input id="report-lat" type="number" step="any" value="${esc(coordinates[1])}" ${fixed}>
      </fieldset>
      <label for="report-address">${esc(t("address"))}</label>
      <input id="report-address" type="text" maxlength="300" value="${esc(report.address)}" ${disabled}>
      <label for="report-description">${esc(t("reportDescription"))} *</label>
      <textarea id="report-description" rows="4" maxlength="4000" required ${disabled}>${esc(report.description)}</textarea>
      <h3>${esc(t("photos"))}</h3>
      ${onServer.length ? `<p class="muted">${onServer.length} · ${esc(t("photoOnServer"))}</p>` : ""}
      <ul class="photos"></ul>
      ${editable ? `<label class="file button">${esc(t("takePhoto"))}
        <input type="file" name="photo" class="visually-hidden" accept="image/*" capture="environment" multiple></label>` : ""}
      <p class="error" role="alert"></p>
      ${editable ? `<button type="submit" class="primary">${esc(t("newReport"))}</button>` : ""}
    </form>`;
    const form = root.querySelector("form");
    const error = form.querySelector(".error");
    const lon = form.querySelector("#report-lon");
    const lat = form.querySelector("#report-lat");

    function showFields() {
      const category = known.find((c) => c.code === form.querySelector("#report-category").value);
      const values = report.attributes || {};
      form.querySelector(".report-fields").innerHTML = category
        ? category.fields.map((f) => `<div class="field">${fieldInput(f, values[f.code] || "", disabled)}</div>`).join("")
        : "";
    }
    showFields();
    form.querySelector("#report-category").addEventListener("change", showFields);

    // The place: a touch on the map, the GPS, or the coordinates typed.
    let marker = null;
    const map = new ol.Map({
      target: "report-map",
      layers: [new ol.layer.Tile({source: new ol.source.XYZ({
        tileUrlFunction: (coord) => Terrain.tiles.url(coord[0], coord[1], coord[2]), transition: 0})})],
      view: new ol.View({center: ol.proj.fromLonLat(coordinates.length ? coordinates : [-2.4, 47.3]),
                         zoom: coordinates.length ? 16 : 11, maxZoom: 19}),
    });
    const points = new ol.source.Vector();
    map.addLayer(new ol.layer.Vector({source: points, style: new ol.style.Style({
      image: new ol.style.Circle({radius: 9, fill: new ol.style.Fill({color: "#d55e00"}),
                                  stroke: new ol.style.Stroke({color: "#fff", width: 3})})})}));
    function place(longitude, latitude, centre) {
      points.clear();
      marker = new ol.Feature(new ol.geom.Point(ol.proj.fromLonLat([longitude, latitude])));
      points.addFeature(marker);
      lon.value = longitude.toFixed(6);
      lat.value = latitude.toFixed(6);
      if (centre) {
        map.getView().animate({center: ol.proj.fromLonLat([longitude, latitude]), zoom: 17});
      }
    }
    if (coordinates.length) {
      place(coordinates[0], coordinates[1], false);
    }
    if (!fixed) {
      map.on("singleclick", (event) => {
        const [longitude, latitude] = ol.proj.toLonLat(event.coordinate);
        place(longitude, latitude, false);
      });
      [lon, lat].forEach((input) => input.addEventListener("change", () => {
        if (lon.value && lat.value) {
          place(Number(lon.value), Number(lat.value), true);
        }
      }));
      form.querySelector(".locate").addEventListener("click", () => {
        if (!navigator.geolocation) {
          error.textContent = t("noGps");
          return;
        }
        navigator.geolocation.getCurrentPosition(
          (position) => place(position.coords.longitude, position.coords.latitude, true),
          (failure) => { error.textContent = t(failure.code === 1 ? "gpsDenied" : "gpsNoSignal"); },
          {enableHighAccuracy: true, timeout: 20000});
      });
    }

    // Photos: kept on the tablet until the server confirms it has them.
    const photoList = form.querySelector(".photos");
    async function showPhotos() {
      photoList.innerHTML = "";
      for (const photo of photos) {
        const local = await Terrain.store.get("photos", photo.sha256);
        const li = document.createElement("li");
        li.innerHTML = `${local ? `<img alt="" src="${URL.createObjectURL(local.blob)}">` : ""}
          <small>${esc(t("photoSize", {size: Math.round(photo.size / 1024), sha: photo.sha256.slice(0, 10)}))}</small>
          <button type="button" class="remove">${esc(t("removePhoto"))}</button>`;
        li.querySelector(".remove").addEventListener("click", () => {
          photos = photos.filter((p) => p !== photo);
          showPhotos();
        });
        photoList.appendChild(li);
      }
    }
    showPhotos();
    const input = form.querySelector("input[type=file]");
    if (input) {
      input.addEventListener("change", async () => {
        for (const file of input.files) {
          if (photos.length + onServer.length >= MAX_PHOTOS) {
            break;  // the server's limit: the input is disabled below
          }
          const type = PHOTO_TYPES.includes(file.type) ? file.type : "image/jpeg";
          const blob = new Blob([await file.arrayBuffer()], {type});
          const sha = await sha256Hex(blob);
          await Terrain.store.put("photos", {sha256: sha, blob, size: blob.size, content_type: type});
          if (!photos.some((p) => p.sha256 === sha) && !onServer.some((p) => p.sha256 === sha)) {
            photos.push({sha256: sha, size: blob.size, content_type: type});
          }
        }
        input.value = "";
        input.disabled = photos.length + onServer.length >= MAX_PHOTOS;
        await showPhotos();
        form.dispatchEvent(new CustomEvent("photos-stored", {bubbles: true}));
      });
    }

    form.querySelector(".back").addEventListener("click", () => Terrain.app.setView("list"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const category = form.querySelector("#report-category").value;
      const description = form.querySelector("#report-description").value.trim();
      const attributes = readFields(form);
      const spec = known.find((c) => c.code === category);
      const problems = [];
      if (!category) {
        problems.push(t("fieldRequired", {label: t("reportCategory")}));
      }
      if (isNew && !(lon.value && lat.value)) {
        problems.push(t("fieldRequired", {label: t("reportPlace")}));
      }
      if (!description) {
        problems.push(t("reportDescriptionMissing"));
      }
      (spec ? spec.fields : []).filter((f) => f.required && attributes[f.code] === undefined)
        .forEach((f) => problems.push(t("fieldRequired", {label: f.label})));
      if (problems.length) {
        error.textContent = problems.join(" ");
        return;
      }
      const data = {description, address: form.querySelector("#report-address").value.trim(),
                    attributes, photos: photos.map((p) => ({sha256: p.sha256, size: p.size,
                                                            content_type: p.content_type}))};
      if (isNew) {
        data.category = category;
        data.geometry = {type: "Point", coordinates: [Number(lon.value), Number(lat.value)]};
      }
      await save(record, data);
      await Terrain.app.refreshPending();
      Terrain.app.showBanner(t("draftSaved"), "ok");
      Terrain.app.setView("list");
      await showList();
    });
    window.scrollTo(0, 0);
  }

  /* A new report, or one the server never accepted, is sent as a creation; else an update on
   * the server's version (Terrain.sync.saveDraft). */
  async function save(record, data) {
    if (record && record.server) {
      return Terrain.sync.saveDraft(STORE, record.id, {data, op: "update"});
    }
    const id = record ? record.id : Terrain.sync.uuid();
    return Terrain.store.put(STORE, {
      id, server: null, outcome: null, missing_photos: [], note: "",
      draft: {change_id: Terrain.sync.uuid(), op: "create", new_id: null, base_version: null,
              data, saved_at: new Date().toISOString(), sent: false, resubmits: null},
    });
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) {
      return;
    }
    const id = button.dataset.report;
    if (button.classList.contains("new-report")) {
      await open(null);
    } else if (button.classList.contains("open-report")) {
      await open(id);
    } else if (button.classList.contains("rebase-report")) {
      await Terrain.sync.rebase(STORE, id);
      await showList();
    } else if (button.classList.contains("drop-report")) {
      if (window.confirm(t("confirmDrop"))) {
        const record = await Terrain.store.get(STORE, id);
        if (record && !record.server) {
          await Terrain.store.delete(STORE, id);
        } else {
          await Terrain.sync.drop(STORE, id);
        }
        await Terrain.app.refreshPending();
        await showList();
      }
    }
  });

  Terrain.records.register({
    entity: "signalement", store: STORE, member: "signalements", label: "entitySignalement",
    form: {render: open},
    async afterPull(page, store) {
      if (page.signalement_categories) {
        await store.setMeta("signalement_categories", page.signalement_categories);
      }
    },
    refresh: showList,
  });
  Terrain.reports = {showList, open};
})(window.Terrain = window.Terrain || {});
