/* Local storage of the field app: IndexedDB, the tablet's only copy of the inspector's work.
 *
 * Stores: meta (key/value: device, package details, cursor, batch in flight), one per record type
 * (Terrain.records: installations, controls; each {id, server, draft, ...}: the server's record
 * and the local, unconfirmed edit),
 * previous (earlier controls, read only), photos (Blobs keyed by SHA-256).
 */
(function (Terrain) {
  "use strict";
  const DB_NAME = "capgeo-terrain";
  // meta, each record type's store (Terrain.records), previous controls and photos.
  const stores = () => ({meta: "key",
                         ...Object.fromEntries(Terrain.records.all().map((type) => [type.store, "id"])),
                         previous: "id", photos: "sha256"});
  let opening = null;

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  /* Open the database at `version` (the current one when undefined), creating the stores it
   * lacks on an upgrade. */
  function openAt(version) {
    return new Promise((resolve, reject) => {
      const req = version === undefined ? indexedDB.open(DB_NAME) : indexedDB.open(DB_NAME, version);
      req.onupgradeneeded = () => {
        for (const [name, keyPath] of Object.entries(stores())) {
          if (!req.result.objectStoreNames.contains(name)) {
            req.result.createObjectStore(name, {keyPath});
          }
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  /* A record type added since the tablet's database was made (a new store) upgrades it to the
   * next version, keeping every record of the others. */
  function open() {
    if (!opening) {
      opening = openAt().then((db) => {
        const missing = Object.keys(stores()).some((name) => !db.objectStoreNames.contains(name));
        if (!missing) {
          return db;
        }
        const next = db.version + 1;
        db.close();
        return openAt(next);
      });
    }
    return opening;
  }

  async function run(names, mode, work) {
    const db = await open();
    const tx = db.transaction(names, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error(Terrain.t("transactionAborted")));
    });
    const result = await work(tx);
    await done;
    return result;
  }

  const store = {
    get(name, key) {
      return run([name], "readonly", (tx) => request(tx.objectStore(name).get(key)));
    },
    all(name) {
      return run([name], "readonly", (tx) => request(tx.objectStore(name).getAll()));
    },
    put(name, value) {
      return run([name], "readwrite", (tx) => request(tx.objectStore(name).put(value)));
    },
    putMany(name, values) {
      return run([name], "readwrite", (tx) => {
        const objects = tx.objectStore(name);
        values.forEach((value) => objects.put(value));
      });
    },
    delete(name, key) {
      return run([name], "readwrite", (tx) => request(tx.objectStore(name).delete(key)));
    },
    async meta(key, fallback) {
      const row = await store.get("meta", key);
      return row === undefined ? fallback : row.value;
    },
    setMeta(key, value) {
      return store.put("meta", {key, value});
    },
    /* Forget everything (another inspector takes the tablet over). */
    clearAll() {
      const names = Object.keys(stores());
      return run(names, "readwrite", (tx) => {
        names.forEach((name) => tx.objectStore(name).clear());
      });
    },
    deleteMeta(key) {
      return store.delete("meta", key);
    },
  };

  Terrain.store = store;
})(window.Terrain = window.Terrain || {});
