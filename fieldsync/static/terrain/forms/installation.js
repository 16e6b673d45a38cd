/* The installation record type: shown with its controls (address, owner, components), not edited
 * in the field app (no form); its records come with the package and the changes. */
(function (Terrain) {
  "use strict";
  Terrain.records.register({
    entity: "installation", store: "installations", member: "installations",
    label: "entityInstallation",
  });
})(window.Terrain = window.Terrain || {});
