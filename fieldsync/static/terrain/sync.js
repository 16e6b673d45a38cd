/* The sync protocol on the tablet side (docs/sync-protocol.md): package, push with replay of a
 * batch whose answer was lost, resumable photo upload, pull of changes since the cursor.
 *
 * A local record is {id, server, draft, outcome, missing_photos, note}: `server` is the last
 * record the server confirmed, `draft` the inspector's unconfirmed change ({change_id, op,
 * base_version, data, sent}). A draft is only removed once the server answered `applied` (or
 * `duplicate` of an applied change) AND every photo it announced is verified on the server.
 */
(function (Terrain) {
  "use strict";
  const store = Terrain.store;
  const api = Terrain.api;
  const t = Terrain.t;
  const STATUS_LABELS = {applied: t("resultApplied"), duplicate: t("resultDuplicate"),
                         conflict: t("resultConflict"), rejected: t("resultRejected")};
  const FROZEN = ["submitted", "validated", "rejected"];

  function uuid() {
    return crypto.randomUUID();
  }

  async function pendingRecords() {
    const records = [];
    for (const {store: name} of Terrain.records.all()) {
      for (const record of await store.all(name)) {
        if (record.draft || (record.missing_photos || []).length) {
          records.push({store: name, record});
        }
      }
    }
    return records;
  }

  /* Unconfirmed local changes: drafts not yet purged (sent or not). */
  async function pendingCount() {
    return (await pendingRecords()).filter(({record}) => record.draft).length;
  }

  async function saveDraft(storeName, id, draft) {
    const record = await store.get(storeName, id);
    const previous = record.draft;
    record.draft = {change_id: uuid(), op: draft.op || "update", new_id: draft.new_id || null,
                    base_version: previous && !previous.sent ? previous.base_version
                      : record.server.version,
                    data: draft.data, saved_at: new Date().toISOString(), sent: false,
                    resubmits: previous && !previous.sent ? previous.resubmits || null : null};
    if (record.outcome && record.outcome.status === "rejected") {
      record.outcome = null;  // corrected: sent again with a new change id
    }
    await store.put(storeName, record);
    return record;
  }

  // --- device -----------------------------------------------------------------------------------
  async function ensureDevice(session) {
    let device = await store.meta("device");
    if (device && device.username === session.username && device.registered) {
      return device;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!device || device.username !== session.username || attempt > 0) {
        device = {id: uuid(), username: session.username,
                  name: t("deviceName", {name: session.name}), registered: false};
      }
      try {
        await api.registerDevice(device.id, device.name);
        device.registered = true;
        await store.setMeta("device", device);
        return device;
      } catch (failure) {
        if (failure.kind !== "http" || failure.status !== 409) {
          throw failure;
        }
      }
    }
    throw new api.Failure("http", t("deviceFailed"));
  }

  /* A call naming the device; if the server no longer knows it (a restored server), register
   * again once and retry. A deactivated device is never registered again. */
  async function withDevice(session, device, call) {
    try {
      return await call(device);
    } catch (failure) {
      const code = failure.body && failure.body.code;
      if (failure.kind !== "http" || failure.status !== 403 ||
          !["device_unknown", "device_other_user"].includes(code)) {
        throw failure;
      }
      await store.deleteMeta("device");
      return call(await ensureDevice(session));
    }
  }

  /* The tablet's data belongs to one inspector. Another one may take the tablet over (for a
   * new package) only once nothing of the first one's work is left unconfirmed. */
  async function checkOwner(session, takeOver) {
    const owner = await store.meta("user");
    if (!owner || owner.username === session.username) {
      return;
    }
    if (takeOver && (await pendingRecords()).length === 0 && !(await store.meta("inflight"))) {
      await store.clearAll();
      return;
    }
    throw new api.Failure("session", t("otherOwner", {owner: owner.name || owner.username}));
  }

  // --- package ----------------------------------------------------------------------------------
  async function mergeServer(storeName, records) {
    const rows = [];
    for (const server of records) {
      const local = await store.get(storeName, server.id);
      if (local && local.server && local.server.version > server.version) {
        continue;
      }
      rows.push({...(local || {id: server.id, draft: null, outcome: null, missing_photos: []}),
                 server});
    }
    await store.putMany(storeName, rows);
  }

  /* A package or a page of changes: each record type keeps its records, then does its own. */
  async function mergePage(page) {
    const assigned = new Set(page.assignments);
    for (const type of Terrain.records.all()) {
      await mergeServer(type.store, (page[type.member] || []).filter(
        (server) => type.kept({id: server.id, server}, assigned)));
    }
    for (const type of Terrain.records.all()) {
      await type.afterPull(page, store);
    }
  }

  async function applyPackage(pkg) {
    await mergePage(pkg);
    for (const key of ["user", "campaigns", "vocabularies", "map", "zones"]) {
      await store.setMeta(key, pkg[key]);
    }
    await store.setMeta("cursor", pkg.cursor);
    await store.setMeta("package_at", pkg.generated_at);
  }

  async function downloadPackage(onProgress) {
    onProgress(t("checkingSession"), 5);
    const session = await api.session();
    await checkOwner(session, true);
    const device = await ensureDevice(session);
    onProgress(t("downloadingAssignments"), 15);
    const pkg = await withDevice(session, device, (d) => api.package(d.id));
    await applyPackage(pkg);
    let tiles = null;
    if (pkg.map) {
      onProgress(t("cachingBasemap"), 30);
      tiles = await Terrain.tiles.prefetch(pkg.map.bbox_wgs84, pkg.map.tile_zooms,
        (done, total) => onProgress(t("tilesProgress", {done, total}),
                                    30 + Math.round((65 * done) / total)));
      await store.setMeta("tiles", tiles);
    }
    onProgress(t("assignmentsDownloaded"), 100);
    return {controls: pkg.controls.length, tiles};
  }

  // --- push -------------------------------------------------------------------------------------
  function changeOf(entity, record) {
    const draft = record.draft;
    const change = {change_id: draft.change_id, entity, op: draft.op,
                    id: draft.op === "supersede" ? draft.new_id : record.id, data: draft.data};
    if (draft.op !== "create") {
      change.base_version = draft.base_version;
    }
    if (draft.resubmits) {
      change.resubmits = draft.resubmits;
    }
    return change;
  }

  async function buildBatch(device) {
    const targets = [];
    const changes = [];
    // In the registry's order: a control may refer to an installation created in the same batch.
    for (const {entity, store: storeName} of Terrain.records.all()) {
      for (const record of await store.all(storeName)) {
        if (record.draft && !record.draft.sent && !record.outcome) {
          changes.push(changeOf(entity, record));
          targets.push({store: storeName, id: record.id, change_id: record.draft.change_id});
        }
      }
    }
    if (!changes.length) {
      return null;
    }
    const batchId = uuid();
    const body = JSON.stringify({batch_id: batchId, device_id: device.id, changes});
    return {batch_id: batchId, body, targets};
  }

  async function finish(storeName, record) {
    const photos = (record.draft && record.draft.data.photos) || [];
    record.draft = null;
    record.outcome = null;
    await store.put(storeName, record);
    await deletePhotosIfUnused(photos.map((p) => p.sha256));
  }

  async function deletePhotosIfUnused(shas) {
    const used = new Set();
    for (const {record} of await pendingRecords()) {
      ((record.draft && record.draft.data.photos) || []).forEach((p) => used.add(p.sha256));
      (record.missing_photos || []).forEach((sha) => used.add(sha));
    }
    for (const sha of shas) {
      if (!used.has(sha)) {
        await store.delete("photos", sha);
      }
    }
  }

  async function applyResult(target, result) {
    let record = await store.get(target.store, target.id);
    if (!record) {
      return;
    }
    let status = result.status;
    if (status === "duplicate") {
      status = result.original_status || (result.record ? "applied" : "duplicate");
    }
    const sameDraft = record.draft && record.draft.change_id === result.change_id;
    if (status === "applied") {
      if (record.draft && record.draft.op === "supersede" && sameDraft) {
        // The correction is a new control that replaces the corrected one.
        await store.delete(target.store, record.id);
        await store.put("previous", {...record.server, superseded_by: result.record.id});
        record = {...record, id: result.record.id, draft: {...record.draft, op: "update"}};
      }
      record.server = result.record || record.server;
      record.outcome = null;
      if (sameDraft) {
        record.draft.sent = true;
        record.missing_photos = result.missing_photos || [];
        if (!record.missing_photos.length) {
          await finish(target.store, record);
          return;
        }
      } else if (record.draft) {
        record.draft.base_version = result.version;  // edited since: it builds on our own change
      }
    } else if (status === "conflict" || status === "rejected") {
      record.outcome = {status, change_id: result.change_id, reasons: result.reasons || [],
                        server_version: result.server_version,
                        server_record: result.server_record};
    }
    await store.put(target.store, record);
  }

  async function sendBatch(batch, report) {
    let answer;
    try {
      answer = await api.push(batch.body, batch.targets.length);
    } catch (failure) {
      if (failure.kind === "http") {
        // The whole batch was refused and nothing stored: the changes go back to the inspector.
        await store.deleteMeta("inflight");
        if (failure.status === 403) {
          // Unknown device: register again. A deactivated one must not (it stays refused).
          if (!failure.body || failure.body.code !== "device_deactivated") {
            await store.deleteMeta("device");
          }
        } else {
          for (const target of batch.targets) {
            await applyResult(target, {status: "rejected", change_id: target.change_id,
                                       reasons: [failure.message, ...failure.reasons]});
          }
        }
      }
      throw failure;  // offline: the batch stays in flight and is sent again, identical
    }
    await store.deleteMeta("inflight");
    for (const result of answer.results) {
      const target = batch.targets[result.position];
      await applyResult(target, result);
      report.push({target, result});
    }
    return answer;
  }

  // --- photos -----------------------------------------------------------------------------------
  async function uploadPhoto(sha256, blob) {
    let state = await api.photoStatus(sha256);
    let offset = state.received;
    let restarts = 0;
    while (!state.verified) {
      const chunk = blob.slice(offset, Math.min(offset + Terrain.config.photoChunkBytes, blob.size));
      try {
        state = await api.putPhotoChunk(sha256, chunk, offset, blob.size);
        offset = state.received;
      } catch (failure) {
        const received = failure.body && failure.body.received;
        if (failure.kind !== "http" || received === undefined || restarts++ > 2) {
          throw failure;
        }
        offset = received;  // 409: resume where the server is; 400 checksum: from the start
      }
    }
    return state;
  }

  async function uploadPhotos(onPhoto) {
    const problems = [];
    for (const {store: storeName, record} of await pendingRecords()) {
      for (const sha of [...(record.missing_photos || [])]) {
        const photo = await store.get("photos", sha);
        if (!photo) {
          problems.push(t("photoMissing", {sha: sha.slice(0, 12)}));
          continue;
        }
        await uploadPhoto(sha, photo.blob);
        record.missing_photos = record.missing_photos.filter((s) => s !== sha);
        await store.put(storeName, record);
        onPhoto(sha);
      }
      if (record.draft && record.draft.sent && !(record.missing_photos || []).length) {
        await finish(storeName, record);
      }
    }
    return problems;
  }

  // --- pull -------------------------------------------------------------------------------------
  const RESOLUTIONS = {
    kept_server: t("keptServer"),
    took_client: t("tookClient"),
  };

  async function settleConflicts(conflicts) {
    const byChange = new Map(conflicts.filter((c) => c.resolution !== "open")
                                      .map((c) => [c.change_id, c]));
    for (const {store: storeName} of Terrain.records.all()) {
      for (const record of await store.all(storeName)) {
        const decision = record.outcome && byChange.get(record.outcome.change_id);
        if (!decision || record.outcome.resolved) {
          continue;
        }
        record.note = RESOLUTIONS[decision.resolution] || "";
        if (decision.resolution === "took_client" && record.draft) {
          // Applied on the server by the manager: only the photos may still be missing.
          record.outcome = null;
          record.draft.sent = true;
          record.missing_photos = (record.draft.data.photos || []).map((p) => p.sha256);
        } else {
          record.outcome = {...record.outcome, resolved: decision.resolution};
        }
        await store.put(storeName, record);
      }
    }
  }

  async function pull(device) {
    let since = await store.meta("cursor", 0);
    let page;
    do {
      try {
        page = await api.changes(since, device.id);
      } catch (failure) {
        if (failure.kind === "http" && failure.status === 409 && failure.body &&
            failure.body.code === "cursor_ahead") {
          // The server was restored behind our cursor: take its whole state again.
          await applyPackage(await api.package(device.id));
          return;
        }
        throw failure;
      }
      await mergePage(page);
      await settleConflicts(page.conflicts);
      since = page.cursor;
      await store.setMeta("cursor", since);
    } while (page.more);
  }

  // --- the whole synchronisation ----------------------------------------------------------------
  async function synchronise(onProgress) {
    const report = [];
    onProgress(t("checkingSession"), 5);
    const session = await api.session();
    await checkOwner(session);
    const device = await ensureDevice(session);
    const inflight = await store.meta("inflight");
    if (inflight) {
      onProgress(t("resendingBatch"), 15);
      await sendBatch(inflight, report);
    }
    const batch = await buildBatch(device);
    if (batch) {
      onProgress(t("sendingChanges", {count: batch.targets.length}), 30);
      await store.setMeta("inflight", batch);  // before sending: a lost answer means a replay
      await sendBatch(batch, report);
    }
    onProgress(t("sendingPhotos"), 55);
    let sent = 0;
    const problems = await uploadPhotos(() => {
      sent += 1;
      onProgress(t("photosUploaded", {count: sent}), Math.min(85, 55 + sent * 5));
    });
    onProgress(t("receivingChanges"), 90);
    await withDevice(session, device, pull);
    await store.setMeta("last_sync", new Date().toISOString());
    onProgress(t("syncDone"), 100);
    return {report, problems, photos: sent};
  }

  // --- conflicts --------------------------------------------------------------------------------
  async function rebase(storeName, id) {
    const record = await store.get(storeName, id);
    const outcome = record.outcome;
    if (outcome.server_record && FROZEN.includes(outcome.server_record.status)) {
      throw new Error(t("rebaseFrozen"));
    }
    record.server = outcome.server_record || record.server;
    // `resubmits` names the conflict this new change resends: it closes that one only.
    record.draft = {...record.draft, change_id: uuid(), sent: false, resubmits: outcome.change_id,
                    base_version: outcome.server_version || record.server.version};
    record.outcome = null;
    record.note = "";
    await store.put(storeName, record);
  }

  async function drop(storeName, id) {
    const record = await store.get(storeName, id);
    if (record.outcome && record.outcome.server_record) {
      record.server = record.outcome.server_record;
    }
    record.note = "";
    await finish(storeName, record);
  }

  Terrain.sync = {STATUS_LABELS, FROZEN, uuid, pendingCount, pendingRecords, saveDraft,
                  downloadPackage, synchronise, rebase, drop};
})(window.Terrain = window.Terrain || {});
