/* The planner's page: switch the township colouring without reloading, keep the county
   list to the chosen city, and print the report. No dependencies; works without it. */
(function () {
  "use strict";

  function readConfig() {
    var node = document.getElementById("coverage-config");
    if (!node) { return {}; }
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }

  function setupModeSwitch() {
    var radios = document.querySelectorAll('input[name="view"]');
    radios.forEach(function (radio) {
      radio.addEventListener("change", function () {
        var api = window.locatorCoverage;
        if (!radio.checked || !api || !api.setMode) { return; }
        api.setMode(radio.value);
        if (window.history && window.history.replaceState) {
          var url = new URL(window.location.href);
          url.searchParams.set("view", radio.value);
          window.history.replaceState(null, "", url.toString());
        }
        document.querySelectorAll("a.download-xlsx, a.download-csv, a.download-geojson, " +
                                  "a.report-link").forEach(function (link) {
          var target = new URL(link.href, window.location.href);
          target.searchParams.set("view", radio.value);
          link.href = target.pathname + target.search;
        });
      });
    });
  }

  function setupCounties(config) {
    var city = document.getElementById("coverage-city");
    var county = document.getElementById("coverage-county");
    if (!city || !county) { return; }
    function sync() {
      var chosen = city.value;
      county.querySelectorAll("optgroup").forEach(function (group) {
        var show = !chosen || group.getAttribute("data-city") === chosen;
        group.hidden = !show;
        group.disabled = !show;
      });
      var selected = county.options[county.selectedIndex];
      if (selected && selected.parentNode && selected.parentNode.disabled) {
        county.value = "";
      }
    }
    city.addEventListener("change", sync);
    sync();
  }

  function setupPrint() {
    var button = document.getElementById("print-report");
    if (button) {
      button.addEventListener("click", function () { window.print(); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var config = readConfig();
    setupModeSwitch();
    setupCounties(config);
    setupPrint();
  });
})();
