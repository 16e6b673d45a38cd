/* The field app: list and map of assignments, control form, synchronisation and conflicts.
 * Everything shown comes from IndexedDB, so the app works the same with the network off. */
(function (Terrain) {
  "use strict";
  Terrain.config = JSON.parse(document.getElementById("terrain-config").textContent);
  const {store, sync, form} = Terrain;
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

  const STATE_LABELS = {todo: "à faire", pending: "en attente d'envoi", done: "transmis",
                        problem: "conflit ou refus"};

  function showBanner(message, kind, html) {
    const banner = $("#banner");
    banner.hidden = !message;
    banner.className = "banner " + (kind || "info");
    banner.innerHTML = html ? message : esc(message);
  }

  function failureMessage(failure) {
    if (failure.kind === "session") {
      return `${esc(failure.message)} <a href="${esc(Terrain.config.urls.login)}">Se reconnecter</a>`;
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
    badge.textContent = online ? "En ligne" : "Hors ligne";
    badge.className = "network " + (online ? "online" : "offline");
    document.body.dataset.network = online ? "online" : "offline";
  }

  async function refreshPending() {
    const count = await sync.pendingCount();
    const badge = $("#pending");
    badge.dataset.count = String(count);
    badge.textContent = count === 0 ? "Aucune modification en attente"
      : count === 1 ? "1 modification en attente" : `${count} modifications en attente`;
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
          <strong>${esc(inst.address || "Adresse inconnue")}</strong>
          <span>${esc(Terrain.config.communes[inst.commune] || inst.commune)}</span>
          <span>${esc(kinds.get(server.kind) || server.kind)}${server.campaign ? " · " + esc(server.campaign) : ""}</span>
          <span class="badges"><span class="badge">${esc(form.STATUS[server.status] || server.status)}</span>
          <span class="badge ${item.state}">${esc(STATE_LABELS[item.state])}</span></span>
        </button></li>`;
    }).join("");
    const packageAt = await store.meta("package_at");
    const user = await store.meta("user");
    $("#package-info").textContent = packageAt
      ? `${list.length} contrôle(s) attribué(s) à ${user ? user.name || user.username : ""} · paquet du ${new Date(packageAt).toLocaleString("fr-FR")}`
      : "";
    const tiles = await store.meta("tiles");
    $("#tiles-info").textContent = tiles
      ? `Fond de carte hors ligne : ${tiles.count} tuiles (niveaux ${tiles.minZoom} à ${tiles.maxZoom}).` : "";
    $("#who").textContent = user ? user.name || user.username : "";
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
        showBanner(data.status === "submitted"
          ? "Contrôle terminé : il sera transmis à la prochaine synchronisation."
          : "Saisie enregistrée sur la tablette.", "ok");
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
      rows.innerHTML = `<tr><td colspan="3" class="muted">Rien à envoyer lors de la dernière synchronisation (${esc(new Date(report.at).toLocaleString("fr-FR"))}).</td></tr>`;
    }
    await showConflicts();
  }

  function compareRows(server, local) {
    const fields = [["État", form.STATUS[server.status] || server.status, form.STATUS[local.status] || local.status],
                    ["Date de visite", server.visit_date || "—", local.visit_date || "—"],
                    ["Observations", server.comments || "—", local.comments || "—"],
                    ["Points renseignés", (server.findings || []).length,
                     local.findings ? local.findings.length : "inchangés"],
                    ["Défauts", (server.findings || []).filter((f) => f.result === "defect").map((f) => f.item).join(", ") || "—",
                     local.findings ? local.findings.filter((f) => f.result === "defect").map((f) => f.item).join(", ") || "—" : "inchangés"],
                    ["Photos", (server.photos || []).length, (local.photos || []).length]];
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
    box.innerHTML = "<h3>À régler</h3>" + list.map((item) => {
      const outcome = item.record.outcome;
      const local = item.record.draft ? item.record.draft.data : {};
      if (outcome.status === "rejected") {
        return `<article class="conflict rejected" data-control="${esc(item.id)}">
          <h4>Refusée — ${esc(describe(item.installation))}</h4>
          <ul>${outcome.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
          <button type="button" class="open" data-control="${esc(item.id)}">Corriger la saisie</button>
          <button type="button" class="drop" data-control="${esc(item.id)}">Abandonner ma saisie</button>
        </article>`;
      }
      const server = outcome.server_record || item.record.server;
      return `<article class="conflict" data-control="${esc(item.id)}">
        <h4>Conflit — ${esc(describe(item.installation))}</h4>
        <p>${outcome.reasons.map(esc).join(" ")}</p>
        ${item.record.note ? `<p class="note">${esc(item.record.note)}</p>` : ""}
        <table class="compare"><thead><tr><th></th>
          <th scope="col">Version du serveur (v${esc(outcome.server_version || server.version)})</th>
          <th scope="col">Ma saisie (sur la v${esc(item.record.draft ? item.record.draft.base_version : "?")})</th></tr></thead>
          <tbody>${compareRows(server, local)}</tbody></table>
        <button type="button" class="rebase primary" data-control="${esc(item.id)}">Reprendre ma saisie sur la version du serveur</button>
        <button type="button" class="drop" data-control="${esc(item.id)}">Abandonner ma saisie</button>
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
    const details = [`Version ${record.version} · ${form.STATUS[record.status] || record.status || ""}`];
    if (verdict) {
      details.push(`Conclusion du serveur : ${verdict.label}`);
    }
    const photos = record.photos || [];
    if (photos.length) {
      details.push(`${photos.length} photo(s) annoncée(s), ${(result.missing_photos || []).length} à envoyer`);
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
        rows.push({label: (installation ? installation.server.address : "") + " (" +
                          (target.store === "controls" ? "contrôle" : "installation") + ")",
                   status: result.status, reasons: result.reasons || [],
                   details: await appliedDetails(result)});
      }
      await store.setMeta("last_report", {at: new Date().toISOString(), rows});
      showNetwork(true);
      const photos = outcome.photos ? ` ${outcome.photos} photo(s) envoyée(s) et vérifiée(s).` : "";
      showBanner(`Synchronisation terminée.${photos}` + (outcome.problems.length ? " " + outcome.problems.join(" ") : ""),
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
      showBanner(`${result.controls} contrôle(s) téléchargé(s)` +
                 (result.tiles ? `, ${result.tiles.count} tuiles de fond de carte en cache.` : "."), "ok");
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
        showBanner("Votre saisie repart de la version du serveur : relisez-la puis synchronisez.", "ok");
      } catch (error) {
        target.parentElement.querySelector(".conflict-error").textContent = error.message;
        return;
      }
      await showSyncView();
    } else if (target.classList.contains("drop")) {
      if (!window.confirm("Abandonner définitivement votre saisie de ce contrôle ?")) {
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
        showBanner("Mode hors ligne indisponible : " + error.message, "warn");
      }
    } else {
      showBanner("Ce navigateur ne permet pas le travail hors ligne (service worker).", "warn");
    }
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist();  // ask the browser not to evict the tablet's data
    }
    await showList();
    await refreshPending();
    document.body.dataset.ready = "true";
  }

  start();
})(window.Terrain = window.Terrain || {});
