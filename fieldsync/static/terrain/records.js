/* The field record types, registered in one place (the server's side: fieldsync/records/).
 *
 * Each type's module (terrain/forms/<entity>.js) registers itself; the page loads them in the
 * order of the server's registry (fieldsync/terrain/views.py; a control refers to an installation:
 * installations first):
 *   entity   its name on the wire ("entity" of a change);
 *   store    its IndexedDB store ({id, server, draft, outcome, missing_photos});
 *   member   its member in the package and in the changes since a cursor;
 *   label    the text key naming it in the sync report;
 *   form     its form ({render}), or null when the app only shows it;
 *   kept(record, assigned)        whether a record of the changes is kept in its store;
 *   afterPull(page, store)        what the type also does with a package or a changes page;
 *   refresh()                     redraw what the type shows in the list view (after a sync).
 * The stores, the batch, the pulls and the sync report loop over Terrain.records.all().
 */
(function (Terrain) {
  "use strict";
  const types = [];

  Terrain.records = {
    register(type) {
      types.push({form: null, kept: () => true, afterPull: async () => {},
                  refresh: async () => {}, ...type});
    },
    all() {
      return types.slice();
    },
    byEntity(entity) {
      return types.find((type) => type.entity === entity);
    },
    byStore(store) {
      return types.find((type) => type.store === store);
    },
  };
})(window.Terrain = window.Terrain || {});
