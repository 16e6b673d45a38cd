/* The app's texts in the page's language (fieldsync/terrain/messages.py, translated on the
 * server and handed over by app.html as JSON), and that language's formats for numbers and dates.
 * Loaded first: the other scripts build their labels with Terrain.t. */
(function (Terrain) {
  "use strict";
  const MESSAGES = JSON.parse(document.getElementById("terrain-messages").textContent);
  const config = JSON.parse(document.getElementById("terrain-config").textContent);
  const LANG = config.language || document.documentElement.lang || "fr";
  const plurals = new Intl.PluralRules(LANG);
  const numbers = new Intl.NumberFormat(LANG);

  function formatValue(value) {
    return typeof value === "number" ? numbers.format(value) : String(value);
  }

  /* The text of `key`, its %(name)s placeholders filled from `values` (numbers in the page's
   * language); a counted text takes the form of values.count. */
  function t(key, values) {
    let text = MESSAGES[key];
    if (text === undefined) {
      console.error("Terrain: no message " + key);
      return key;
    }
    if (typeof text === "object") {
      const count = Number(values && values.count);
      text = plurals.select(count) === "one" ? text.one : text.other;
    }
    return text.replace(/%\((\w+)\)s/g, (match, name) =>
      (values && name in values ? formatValue(values[name]) : match));
  }

  /* An ISO date and time (or a Date), as the page's language writes it. */
  function dateTime(value) {
    return new Date(value).toLocaleString(LANG);
  }

  /* A calendar date "YYYY-MM-DD" as the page's language writes it; other values as they are. */
  function date(value) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value || "")) {
      return value;
    }
    return new Date(value + "T00:00:00Z").toLocaleDateString(LANG, {timeZone: "UTC"});
  }

  Terrain.i18n = {t, dateTime, date, lang: LANG};
  Terrain.t = t;
})(window.Terrain = window.Terrain || {});
