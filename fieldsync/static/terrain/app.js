/* The field app: list and map of assignments, control form, synchronisation and conflicts.
 * Everything shown comes from IndexedDB, so the app works the same with the network off. */
(function (Terrain) {
  "use strict";
  Terrain.config = JSON.parse(document.getElementById("terrain-config").textContent);
  const {store, sync, form, t} = Terrain;
  const esc = form.esc;
  const $ = (selector) => document.querySelector(selector);
  const RESULT_CLASS = {applied: "ok", duplicate: "ok", conflict: "warn", rejected: "bad"};
  let currentView = "list";
  let busy = false;
  let mapReady = false;

  // --- helpers ----------------------------------------------------------------------------------
  function stateOf(record) {
    if (record.outcome && !(record.outcome.resolved === "took_client")) {
      return "problem";
    }
    if (record.draft) {
      return "pending";
    }
    return sync.FROZEN.includes(record.server.status) ? "done" : "todo";
  }

  const STATE_LABELS = {todo: t("stateTodo"), pending: t("statePending"), done: t("stateDone"),
                        problem: t("stateProblem")};

  function showBanner(message, kind, html) {
    const banner = $("#banner");
    banner.hidden = !message;
    banner.className = "banner " + (kind || "info");
    banner.innerHTML = html ? message : esc(message);
  }

  function failureMessage(failure) {
    if (failure.kind === "session") {
      return `${esc(failure.message)} <a href="${esc(Terrain.config.urls.login)}">${esc(t("logInAgain"))}</a>`;
    }
    const reasons = (failure.reasons || []).map(esc).join(" ");
    return esc(failure.message || String(failure)) + (reasons ? " " + reasons : "");
  }

  async function items() {
    const [controls, installations] = [await store.all("controls"), await store.all("installations")];
    const byId = new Map(installations.map((i) => [i.id, i.server]));
    return controls.map((record) => ({id: record.id, record, state: stateOf(record),
                                      installation: byId.get(record.server.installation)}))
      .filter((item) => item.installation)
      .sort((a, b) => (a.installation.address || "").localeCompare(b.installation.address || ""));
  }

  // --- header: network, pending counter ---------------------------------------------------------
  function showNetwork(reachable) {
    const online = navigator.onLine && reachable !== false;
    const badge = $("#network");
    badge.textContent = t(online ? "online" : "offline");
    badge.className = "network " + (online ? "online" : "offline");
    document.body.dataset.network = online ? "online" : "offline";
  }

  async function refreshPending() {
    const count = await sync.pendingCount();
    const badge = $("#pending");
    badge.dataset.count = String(count);
    badge.textContent = count === 0 ? t("noPending") : t("pendingChanges", {count});
    badge.classList.toggle("has-pending", count > 0);
  }

  // --- views ------------------------------------------------------------------------------------
  function setView(name) {
    currentView = name;
    for (const view of ["list", "map", "form", "sync"]) {
      $("#view-" + view).hidden = view !== name;
    }
    document.querySelectorAll(".tabs button").forEach((button) => {
      if (button.dataset.view === name) {
        button.setAttribute("aria-current", "page");
      } else {
        button.removeAttribute("aria-current");
      }
    });
    if (name === "map") {
      showMap();
    }
    if (name === "sync") {
      showSyncView();
    }
    if (name === "list") {
      showList();
    }
  }

  async function showList() {
    const list = await items();
    const vocab = await store.meta("vocabularies");
    const kinds = new Map(((vocab && vocab.control_kinds) || []).map((k) => [k.code, k.label]));
    $("#empty").hidden = list.length > 0;
    $("#assignments").innerHTML = list.map((item) => {
      const inst = item.installation;
      const server = item.record.server;
      return `<li class="card state-${item.state}" data-control="${esc(item.id)}">
        <button type="button" class="open" data-control="${esc(item.id)}">
          <strong>${esc(inst.address || t("unknownAddress"))}</strong>
          <span>${esc(Terrain.config.communes[inst.commune] || inst.commune)}</span>
          <span>${esc(kinds.get(server.kind) || server.kind)}${server.campaign ? " · " + esc(server.campaign) : ""}</span>
          <span class="badges"><span class="badge">${esc(form.STATUS[server.status] || server.status)}</span>
          <span class="badge ${item.state}">${esc(STATE_LABELS[item.state])}</span></span>
        </button></li>`;
    }).join("");
    const packageAt = await store.meta("package_at");
    const user = await store.meta("user");
    $("#package-info").textContent = packageAt
      ? t("packageInfo", {count: list.length, name: user ? user.name || user.username : "",
                          date: Terrain.i18n.dateTime(packageAt)})
      : "";
    const tiles = await store.meta("tiles");
    $("#tiles-info").textContent = tiles
      ? t("tilesInfo", {count: tiles.count, min: tiles.minZoom, max: tiles.maxZoom}) : "";
    $("#who").textContent = user ? user.name || user.username : "";
    for (const type of Terrain.records.all()) {
      await type.refresh();
    }
  }

  async function showMap() {
    if (!mapReady) {
      Terrain.map.create("map", openControl);
      mapReady = true;
    }
    Terrain.map.show(await items(), await store.meta("map"), await store.meta("zones"));
  }

  async function openControl(id) {
    const record = await store.get("controls", id);
    if (!record) {
      return;
    }
    const installation = (await store.get("installations", record.server.installation)).server;
    const previous = (await store.all("previous"))
      .filter((c) => c.installation === installation.id && c.id !== id);
    const user = await store.meta("user", {});
    setView("form");
    form.render($("#view-form"), {
      record, installation, previous, vocab: await store.meta("vocabularies"),
      communes: Terrain.config.communes, username: user.username,
      onBack: () => setView("list"),
      onSave: async (data, how) => {
        await sync.saveDraft("controls", id, {data, ...how});
        await refreshPending();
        showBanner(t(data.status === "submitted" ? "controlSubmitted" : "draftSaved"), "ok");
        setView("list");
      },
    });
    window.scrollTo(0, 0);
  }

  // --- synchronisation view ---------------------------------------------------------------------
  function describe(record) {
    return record ? `${record.address || ""}` : "";
  }

  async function showSyncView() {
    const report = await store.meta("last_report", null);
    const rows = $("#sync-results");
    if (report && report.rows.length) {
      rows.innerHTML = report.rows.map((row) => `<tr class="${RESULT_CLASS[row.status] || ""}">
        <td>${esc(row.label)}</td><td><strong>${esc(sync.STATUS_LABELS[row.status] || row.status)}</strong></td>
        <td>${[...row.reasons, ...(row.details || [])].map((r) => `<div>${esc(r)}</div>`).join("")}</td></tr>`).join("");
    } else if (report) {
      rows.innerHTML = `<tr><td colspan="3" class="muted">${esc(t("nothingSent", {date: Terrain.i18n.dateTime(report.at)}))}</td></tr>`;
    }
    await showConflicts();
  }

  function compareRows(server, local) {
    const date = (value) => (value ? Terrain.i18n.date(value) : "—");
    const fields = [[t("compareStatus"), form.STATUS[server.status] || server.status, form.STATUS[local.status] || local.status],
                    [t("visitDate"), date(server.visit_date), date(local.visit_date)],
                    [t("comments"), server.comments || "—", local.comments || "—"],
                    [t("compareFindings"), (server.findings || []).length,
                     local.findings ? local.findings.length : t("unchanged")],
                    [t("compareDefects"), (server.findings || []).filter((f) => f.result === "defect").map((f) => f.item).join(", ") || "—",
                     local.findings ? local.findings.filter((f) => f.result === "defect").map((f) => f.item).join(", ") || "—" : t("unchanged")],
                    [t("photos"), (server.photos || []).length, (local.photos || []).length]];
    return fields.map(([label, a, b]) => `<tr class="${String(a) === String(b) ? "" : "differs"}">
      <th scope="row">${esc(label)}</th><td>${esc(a)}</td><td>${esc(b)}</td></tr>`).join("");
  }

  async function showConflicts() {
    const list = (await items()).filter((item) => item.record.outcome);
    const box = $("#conflicts");
    if (!list.length) {
      box.innerHTML = "";
      return;
    }
    box.innerHTML = `<h3>${esc(t("toSettle"))}</h3>` + list.map((item) => {
      const outcome = item.record.outcome;
      const local = item.record.draft ? item.record.draft.data : {};
      if (outcome.status === "rejected") {
        return `<article class="conflict rejected" data-control="${esc(item.id)}">
          <h4>${esc(t("rejectedTitle", {address: describe(item.installation)}))}</h4>
          <ul>${outcome.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
          <button type="button" class="open" data-control="${esc(item.id)}">${esc(t("fixEntry"))}</button>
          <button type="button" class="drop" data-control="${esc(item.id)}">${esc(t("dropEntry"))}</button>
        </article>`;
      }
      const server = outcome.server_record || item.record.server;
      return `<article class="conflict" data-control="${esc(item.id)}">
        <h4>${esc(t("conflictTitle", {address: describe(item.installation)}))}</h4>
        <p>${outcome.reasons.map(esc).join(" ")}</p>
        ${item.record.note ? `<p class="note">${esc(item.record.note)}</p>` : ""}
        <table class="compare"><thead><tr><th></th>
          <th scope="col">${esc(t("serverVersion", {version: String(outcome.server_version || server.version)}))}</th>
          <th scope="col">${esc(t("myEntry", {version: String(item.record.draft ? item.record.draft.base_version : "?")}))}</th></tr></thead>
          <tbody>${compareRows(server, local)}</tbody></table>
        <button type="button" class="rebase primary" data-control="${esc(item.id)}">${esc(t("rebaseEntry"))}</button>
        <button type="button" class="drop" data-control="${esc(item.id)}">${esc(t("dropEntry"))}</button>
        <p class="error conflict-error" role="alert"></p>
      </article>`;
    }).join("");
  }

  /* What the server recorded for an applied change: version, status, its Annexe II verdict. */
  async function appliedDetails(result) {
    if (!result.record) {
      return [];
    }
    const record = result.record;
    const vocab = await store.meta("vocabularies", {conclusions: []});
    const verdict = (vocab.conclusions || []).find((c) => c.code === record.conclusion);
    const details = [t("appliedVersion", {version: String(record.version),
                                          status: form.STATUS[record.status] || record.status || ""})];
    if (verdict) {
      details.push(t("serverConclusion", {label: verdict.label}));
    }
    const photos = record.photos || [];
    if (photos.length) {
      details.push(t("photosAnnounced", {count: photos.length,
                                         missing: (result.missing_photos || []).length}));
    }
    return details;
  }

  async function runSync() {
    if (busy) {
      return;
    }
    busy = true;
    $("#sync-button").disabled = true;
    setView("sync");
    const progress = $("#sync-progress");
    progress.hidden = false;
    progress.value = 0;
    const step = (text, value) => {
      $("#sync-step").textContent = text;
      progress.value = value;
    };
    try {
      const outcome = await sync.synchronise(step);
      const rows = [];
      for (const {target, result} of outcome.report) {
        const record = await store.get(target.store, target.id) ||
          await store.get(target.store, result.id);
        const installation = record && record.server.installation
          ? await store.get("installations", record.server.installation) : null;
        const name = installation ? installation.server.address
          : (record && record.server && record.server.reference) || "";
        rows.push({label: name + " (" +
                          t(Terrain.records.byStore(target.store).label) + ")",
                   status: result.status, reasons: result.reasons || [],
                   details: await appliedDetails(result)});
      }
      await store.setMeta("last_report", {at: new Date().toISOString(), rows});
      showNetwork(true);
      const photos = outcome.photos ? " " + t("photosSent", {count: outcome.photos}) : "";
      showBanner(t("syncDone") + photos + (outcome.problems.length ? " " + outcome.problems.join(" ") : ""),
                 outcome.problems.length ? "warn" : "ok");
    } catch (failure) {
      if (failure.kind === "offline") {
        showNetwork(false);
      }
      step(failure.message || String(failure), progress.value);
      showBanner(failureMessage(failure), failure.kind === "offline" ? "warn" : "error", true);
    } finally {
      busy = false;
      $("#sync-button").disabled = false;
      await refreshPending();
      await showSyncView();
    }
  }

  async function download() {
    if (busy) {
      return;
    }
    busy = true;
    $("#download-button").disabled = true;
    try {
      const result = await sync.downloadPackage((text) => { $("#package-info").textContent = text; });
      showBanner(t("controlsDownloaded", {count: result.controls}) +
                 (result.tiles ? " " + t("tilesCached", {count: result.tiles.count}) : ""), "ok");
      showNetwork(true);
    } catch (failure) {
      if (failure.kind === "offline") {
        showNetwork(false);
      }
      showBanner(failureMessage(failure), "error", true);
    } finally {
      busy = false;
      $("#download-button").disabled = false;
      await showList();
      await refreshPending();
    }
  }

  // --- events -----------------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const target = event.target.closest("button");
    if (!target) {
      return;
    }
    const id = target.dataset.control;
    if (target.classList.contains("open") && id) {
      openControl(id);
    } else if (target.classList.contains("rebase")) {
      try {
        await sync.rebase("controls", id);
        showBanner(t("rebased"), "ok");
      } catch (error) {
        target.parentElement.querySelector(".conflict-error").textContent = error.message;
        return;
      }
      await showSyncView();
    } else if (target.classList.contains("drop")) {
      if (!window.confirm(t("confirmDrop"))) {
        return;
      }
      await sync.drop("controls", id);
      await refreshPending();
      await showSyncView();
    } else if (target.dataset.view) {
      setView(target.dataset.view);
    }
  });
  $("#sync-button").addEventListener("click", runSync);
  $("#download-button").addEventListener("click", download);
  window.addEventListener("online", () => showNetwork());
  window.addEventListener("offline", () => showNetwork());

  async function start() {
    showNetwork();
    if ("serviceWorker" in navigator) {
      try {
        await navigator.serviceWorker.register(Terrain.config.urls.serviceWorker,
                                               {scope: Terrain.config.urls.app});
      } catch (error) {
        showBanner(t("offlineUnavailable", {error: error.message}), "warn");
      }
    } else {
      showBanner(t("noServiceWorker"), "warn");
    }
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist();  // ask the browser not to evict the tablet's data
    }
    await showList();
    await refreshPending();
    document.body.dataset.ready = "true";
  }

  // What the record types' own forms use (terrain/forms/<entity>.js).
  Terrain.app = {setView, showBanner, refreshPending};

  start();
})(window.Terrain = window.Terrain || {});
