/* The control record type and its form: checklist of the control's kind (from the package's vocabularies), visit
 * date, observations, photos from the camera (Blobs in IndexedDB, SHA-256 by crypto.subtle), GPS
 * position, and the Annexe II conclusion computed offline as a preview (the server's is final). */
(function (Terrain) {
  "use strict";
  const SEVERITY = ["absence", "danger", "incomplete", "defects"];
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const t = Terrain.t;
  const STATUS = {planned: t("statusPlanned"), assigned: t("statusAssigned"),
                  in_progress: t("statusInProgress"), submitted: t("statusSubmitted"),
                  validated: t("statusValidated"), rejected: t("statusRejected")};

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function today() {
    const now = new Date();
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  function zoneOf(installation) {
    if (installation.sanitary_zone) {
      return "sanitary";
    }
    return installation.environmental_zone ? "environmental" : "outside";
  }

  /* The Annexe II verdict for these findings, as the server computes it (fieldsync.verdict). */
  function conclusion(vocab, installation, findings) {
    const categories = new Map(vocab.checklist.map((item) => [item.code, item.category]));
    const found = new Set(findings.filter((f) => f.result === "defect")
                                  .map((f) => categories.get(f.item)));
    const category = SEVERITY.find((c) => found.has(c)) || "none";
    const cell = vocab.grid.find((r) => r.category === category && r.zone === zoneOf(installation));
    return cell ? vocab.conclusions.find((c) => c.code === cell.conclusion) : null;
  }

  async function sha256Hex(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function checklistFor(vocab, kind) {
    return vocab.checklist.filter((item) => item.control_kinds.includes(kind));
  }

  function installationBlock(installation, communes) {
    const owner = installation.owner;
    const components = installation.components.map((c) => esc(c.type) +
      (c.volume_m3 ? ` (${esc(c.volume_m3)} m³)` : "")).join(", ");
    const zones = [installation.sanitary_zone ? t("sanitaryZone") : "",
                   installation.environmental_zone ? t("environmentalZone") : ""]
      .filter(Boolean).join(", ") || t("outsideZones");
    return `<dl class="facts">
      <dt>${esc(t("address"))}</dt><dd>${esc(installation.address)} — ${esc(communes[installation.commune] || installation.commune)}</dd>
      ${owner ? `<dt>${esc(t("owner"))}</dt><dd>${esc(owner.name)} ${owner.phone ? "· " + esc(owner.phone) : ""}</dd>` : ""}
      <dt>${esc(t("parcels"))}</dt><dd>${esc(installation.parcels.join(", ")) || "—"}</dd>
      <dt>${esc(t("capacity"))}</dt><dd>${installation.capacity_eh ? esc(t("capacityValue", {count: installation.capacity_eh})) : "—"}${installation.year_built ? " · " + esc(t("commissioned", {year: String(installation.year_built)})) : ""}</dd>
      <dt>${esc(t("components"))}</dt><dd>${components || "—"}</dd>
      <dt>${esc(t("zone"))}</dt><dd>${esc(zones)}</dd>
    </dl>`;
  }

  function findingRow(item, finding, results, disabled) {
    const name = "finding-" + item.code;
    const radios = results.map((r) => `<label class="choice result-${esc(r.code)}">
        <input type="radio" name="${esc(name)}" value="${esc(r.code)}"
          ${finding && finding.result === r.code ? "checked" : ""} ${disabled}> ${esc(r.label)}</label>`).join("");
    return `<fieldset class="finding" data-item="${esc(item.code)}">
      <legend>${esc(item.label)}</legend>
      ${item.guidance ? `<p class="guidance">${esc(item.guidance)}</p>` : ""}
      <div class="choices">${radios}</div>
      <input type="text" class="finding-comment" aria-label="${esc(t("remarkFor", {item: item.label}))}"
        placeholder="${esc(t("remark"))}" value="${esc(finding ? finding.comment : "")}" ${disabled}>
    </fieldset>`;
  }

  /* Render the form of a control record into `root`. */
  function render(root, ctx) {
    const {record, installation, vocab, previous, communes, onSave, onBack} = ctx;
    const server = record.server;
    const draft = record.draft;
    const data = draft ? draft.data : server;
    const frozen = Terrain.sync.FROZEN.includes(server.status);
    const correcting = frozen && server.editable === false && server.inspector &&
      server.superseded_by === null && ctx.username === server.inspector;
    const locked = (draft && draft.sent) || (record.outcome && record.outcome.status === "conflict") ||
      (frozen && !(draft && draft.op === "supersede") && !ctx.correcting);
    const disabled = locked ? "disabled" : "";
    const items = checklistFor(vocab, server.kind);
    const findings = new Map((data.findings || []).map((f) => [f.item, f]));
    const kind = vocab.control_kinds.find((k) => k.code === server.kind);
    let photos = (data.photos || []).map((p) => ({sha256: p.sha256, size: p.size,
      content_type: p.content_type, caption: p.caption || "", taken_at: p.taken_at}));

    root.innerHTML = `
      <p><button type="button" class="link back">${esc(t("backToList"))}</button></p>
      <h2>${esc(kind ? kind.label : server.kind)} — ${esc(installation.address)}</h2>
      <p class="status">${esc(t("serverStatus"))} <strong>${esc(STATUS[server.status] || server.status)}</strong>
        ${esc(t("versionInParentheses", {version: String(server.version)}))}${draft ? ` · <span class="badge pending">${esc(t(draft.sent ? "draftSentPhotosPending" : "draftPending"))}</span>` : ""}</p>
      ${record.outcome ? `<div class="outcome ${esc(record.outcome.status)}" role="alert">
          <strong>${esc(t(record.outcome.status === "conflict" ? "conflictLabel" : "rejectedLabel"))}</strong>
          <ul>${record.outcome.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
          <p>${esc(t(record.outcome.status === "conflict" ? "settleInSyncTab" : "fixAndSave"))}</p>
        </div>` : ""}
      ${server.rejection_reason ? `<p class="outcome rejected">${esc(t("rejectionReason", {reason: server.rejection_reason}))}</p>` : ""}
      ${frozen && !draft ? `<p class="note">${esc(t("frozenNote"))}
        ${correcting ? `<button type="button" class="correct">${esc(t("correct"))}</button>` : ""}</p>` : ""}
      <details><summary>${esc(t("installation"))}</summary>${installationBlock(installation, communes)}
        <h3>${esc(t("previousControls"))}</h3>
        <ul>${previous.map((p) => `<li>${esc(p.visit_date ? Terrain.i18n.date(p.visit_date) : t("noDate"))} — ${esc(STATUS[p.status] || p.status)}${p.conclusion ? " — " + esc(p.conclusion) : ""}</li>`).join("") || `<li>${esc(t("noPreviousControl"))}</li>`}</ul>
      </details>
      <form class="control-form" novalidate>
        <label>${esc(t("visitDate"))} <input type="date" name="visit_date" value="${esc(data.visit_date || today())}" max="${today()}" ${disabled}></label>
        ${kind && kind.is_sale ? `<label>${esc(t("saleDate"))} <input type="date" name="sale_date" value="${esc(data.sale_date || "")}" ${disabled}></label>` : ""}
        <div class="checklist-head"><h3>${esc(t("checklistTitle", {count: items.length}))}</h3>
          ${locked ? "" : `<button type="button" class="all-ok">${esc(t("allOk"))}</button>`}</div>
        ${items.map((item) => findingRow(item, findings.get(item.code), vocab.finding_results, disabled)).join("")}
        <p class="conclusion" aria-live="polite"></p>
        <label>${esc(t("comments"))} <textarea name="comments" rows="3" ${disabled}>${esc(data.comments || "")}</textarea></label>
        <h3>${esc(t("photos"))}</h3>
        <ul class="photos"></ul>
        ${locked ? "" : `<label class="file button">${esc(t("takePhoto"))}
          <input type="file" name="photo" class="visually-hidden" accept="image/*" capture="environment" multiple></label>`}
        <h3>${esc(t("position"))}</h3>
        <p><button type="button" class="gps" ${disabled}>${esc(t("gpsButton"))}</button> <span class="gps-result"></span></p>
        <p class="form-errors error" role="alert"></p>
        ${locked ? "" : `<div class="actions">
          <button type="submit" name="status" value="in_progress">${esc(t("saveInProgress"))}</button>
          <button type="submit" name="status" value="submitted" class="primary">${esc(t("submitControl"))}</button>
        </div>`}
      </form>`;

    const form = root.querySelector("form");
    const photoList = root.querySelector(".photos");
    const conclusionLine = root.querySelector(".conclusion");
    root.querySelector(".back").addEventListener("click", onBack);
    const correctButton = root.querySelector(".correct");
    if (correctButton) {
      correctButton.addEventListener("click", () => render(root, {...ctx, correcting: true}));
    }

    function currentFindings() {
      return items.map((item) => {
        const fieldset = form.querySelector(`fieldset[data-item="${CSS.escape(item.code)}"]`);
        const checked = fieldset.querySelector("input[type=radio]:checked");
        const comment = fieldset.querySelector(".finding-comment").value.trim();
        return checked ? {item: item.code, result: checked.value, comment} : null;
      }).filter(Boolean);
    }

    function updateConclusion() {
      const list = currentFindings();
      const verdict = list.length === items.length ? conclusion(vocab, installation, list) : null;
      conclusionLine.innerHTML = verdict
        ? `${esc(t("expectedConclusion"))} <span class="swatch" style="background:${esc(verdict.color)}"></span> <strong>${esc(verdict.label)}</strong> <span class="muted">${esc(t("recomputedByServer"))}</span>`
        : esc(t("findingsProgress", {done: list.length, total: items.length}));
    }

    async function showPhotos() {
      photoList.innerHTML = "";
      for (const photo of photos) {
        const local = await Terrain.store.get("photos", photo.sha256);
        const li = document.createElement("li");
        li.innerHTML = `${local ? `<img alt="" src="${URL.createObjectURL(local.blob)}">` : `<span class="no-thumb">${esc(t("photoOnServer"))}</span>`}
          <input type="text" class="caption" aria-label="${esc(t("photoCaptionLabel"))}" placeholder="${esc(t("photoCaption"))}" value="${esc(photo.caption)}" ${disabled}>
          <small>${esc(t("photoSize", {size: Math.round(photo.size / 1024), sha: photo.sha256.slice(0, 10)}))}</small>
          ${locked ? "" : `<button type="button" class="remove">${esc(t("removePhoto"))}</button>`}`;
        li.querySelector(".caption").addEventListener("input", (e) => { photo.caption = e.target.value; });
        const remove = li.querySelector(".remove");
        if (remove) {
          remove.addEventListener("click", () => {
            photos = photos.filter((p) => p !== photo);
            showPhotos();
          });
        }
        photoList.appendChild(li);
      }
    }

    form.addEventListener("change", updateConclusion);
    const allOk = root.querySelector(".all-ok");
    if (allOk) {
      allOk.addEventListener("click", () => {
        form.querySelectorAll("fieldset.finding").forEach((fieldset) => {
          if (!fieldset.querySelector("input[type=radio]:checked")) {
            fieldset.querySelector('input[value="ok"]').checked = true;
          }
        });
        updateConclusion();
      });
    }
    const fileInput = form.querySelector("input[type=file]");
    if (fileInput) {
      fileInput.addEventListener("change", async () => {
        const errors = [];
        for (const file of fileInput.files) {
          const type = file.type || "image/jpeg";
          if (!PHOTO_TYPES.includes(type)) {
            errors.push(t("badPhotoFormat", {name: file.name}));
            continue;
          }
          const sha = await sha256Hex(file);
          const blob = new Blob([await file.arrayBuffer()], {type});
          await Terrain.store.put("photos", {sha256: sha, blob, size: blob.size,
                                             content_type: type, control: server.id});
          if (!photos.some((p) => p.sha256 === sha)) {
            photos.push({sha256: sha, size: blob.size, content_type: type, caption: "",
                         taken_at: new Date().toISOString()});
          }
        }
        fileInput.value = "";
        root.querySelector(".form-errors").textContent = errors.join(" ");
        await showPhotos();
        root.dispatchEvent(new CustomEvent("photos-stored", {bubbles: true}));
      });
    }
    root.querySelector(".gps").addEventListener("click", () => {
      const out = root.querySelector(".gps-result");
      if (!navigator.geolocation) {
        out.textContent = t("noGps");
        return;
      }
      out.textContent = t("locating");
      navigator.geolocation.getCurrentPosition((position) => {
        const {latitude, longitude, accuracy} = position.coords;
        const [lon, lat] = installation.geometry.coordinates;
        const metres = Math.round(6371000 * Math.hypot(
          (longitude - lon) * Math.PI / 180 * Math.cos(lat * Math.PI / 180),
          (latitude - lat) * Math.PI / 180));
        // Coordinates keep the decimal point whatever the language (the comma separates them).
        out.textContent = t("gpsResult", {lat: latitude.toFixed(6), lon: longitude.toFixed(6),
                                          accuracy: Math.round(accuracy), distance: metres});
      }, (error) => {
        out.textContent = t(error.code === 1 ? "gpsDenied" : "gpsNoSignal");
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = event.submitter ? event.submitter.value : "in_progress";
      const list = currentFindings();
      const visitDate = form.visit_date.value;
      const errors = [];
      if (status === "submitted") {
        if (!visitDate) {
          errors.push(t("visitDateRequired"));
        }
        if (list.length < items.length) {
          errors.push(t("unanswered", {count: items.length - list.length}));
        }
      }
      if (visitDate && visitDate > today()) {
        errors.push(t("visitDateInFuture"));
      }
      root.querySelector(".form-errors").textContent = errors.join(" ");
      if (errors.length) {
        return;
      }
      // No answer yet: leave the findings out (unchanged), so an early save never clears them.
      const payload = {visit_date: visitDate || null, ...(list.length ? {findings: list} : {}),
                       comments: form.comments.value.trim(), status,
                       photos: photos.map((p) => ({sha256: p.sha256, size: p.size,
                                                   content_type: p.content_type,
                                                   caption: p.caption,
                                                   ...(p.taken_at ? {taken_at: p.taken_at} : {})}))};
      if (form.sale_date) {
        payload.sale_date = form.sale_date.value || null;
      }
      const supersede = ctx.correcting || (draft && draft.op === "supersede");
      if (supersede) {
        payload.supersedes = server.id;
      }
      await onSave(payload, supersede ? {op: "supersede",
        new_id: (draft && draft.new_id) || Terrain.sync.uuid()} : {op: "update"});
    });

    updateConclusion();
    showPhotos();
  }

  Terrain.form = {render, conclusion, esc, STATUS};

  // The control record type. Only assigned controls stay in its store; the others (earlier
  // controls of the same installations, controls no longer assigned) go to "previous".
  Terrain.records.register({
    entity: "control", store: "controls", member: "controls", label: "entityControl",
    form: Terrain.form,
    kept: (record, assigned) => assigned.has(record.id),
    async afterPull(page, store) {
      const assigned = new Set(page.assignments);
      const previous = page.previous_controls ||
        page.controls.filter((control) => !assigned.has(control.id));
      await store.putMany("previous", previous);
      for (const record of await store.all("controls")) {
        if (!assigned.has(record.id) && !record.draft && !(record.missing_photos || []).length) {
          await store.delete("controls", record.id);
          await store.put("previous", record.server);
        }
      }
    },
  });
})(window.Terrain = window.Terrain || {});
