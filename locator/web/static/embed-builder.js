/* The embed builder (/embed/builder): options -> the server's snippets and a live preview.
 *
 * The snippets are made (and escaped) by the server (/embed/snippet.json); this page only
 * puts them into textareas (.value) and points the preview iframe at the widget.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("builder-config").textContent);
  var T = config.text;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("builder-form");
  var city = $("opt-city");
  var county = $("opt-county");
  var preview = $("preview");
  var warningsBox = $("builder-warnings");
  var note = $("copy-note");
  var request = null;
  var timer = null;

  function option(value, text) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = text;
    return node;
  }

  config.cities.forEach(function (c) { city.appendChild(option(c.name, c.name)); });

  function fillCounties() {
    var chosen = config.cities.filter(function (c) { return c.name === city.value; })[0];
    while (county.options.length > 1) { county.remove(1); }
    county.value = "";
    county.disabled = !chosen;
    if (chosen) {
      chosen.counties.forEach(function (k) { county.appendChild(option(k.name, k.name)); });
    }
  }

  function params() {
    var out = new URLSearchParams();
    var add = function (name, value) { if (value) { out.append(name, value); } };
    add("city", city.value);
    add("county", county.value);
    ["kind", "amenity", "status"].forEach(function (name) {
      var values = Array.prototype.filter.call(form.elements[name], function (box) {
        return box.checked;
      }).map(function (box) { return box.value; });
      if (name === "status") {
        if (values.length === 1 && values[0] === "open") { return; }  // the default
        if (!values.length) { values = ["any"]; }
      }
      add(name, values.join(","));
    });
    add("lang", $("opt-lang").value === "zh" ? "" : $("opt-lang").value);
    add("theme", $("opt-theme").value === "light" ? "" : $("opt-theme").value);
    add("tiles", $("opt-tiles").value === config.defaultTiles ? "" : $("opt-tiles").value);
    add("list", $("opt-list").checked ? "on" : "");
    var height = $("opt-height").value.trim();
    add("height", height && height !== "400" ? height : "");
    add("width", $("opt-width").value.trim());
    return out;
  }

  function showWarnings(warnings) {
    warningsBox.textContent = warnings.map(function (w) {
      return w.param + ": " + w.message;
    }).join(" · ");
    warningsBox.hidden = !warnings.length;
  }

  function update() {
    if (request) { request.abort(); }
    var controller = new AbortController();
    request = controller;
    var query = params();
    fetch(config.snippetUrl + "?" + query.toString(), {signal: controller.signal})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error((body.error && body.error.message) || ("HTTP " + response.status));
          }
          return body;
        });
      })
      .then(function (body) {
        if (request !== controller) { return; }
        request = null;
        $("snippet-script").value = body.script;
        $("snippet-iframe").value = body.iframe;
        $("snippet-url").href = body.url;
        showWarnings(body.warnings || []);
        var width = parseInt(query.get("width"), 10);
        preview.style.maxWidth = isFinite(width) ? width + "px" : "";
        if (preview.getAttribute("src") !== body.preview) {
          preview.style.height = body.height + "px";
          preview.setAttribute("src", body.preview);
        }
      })
      .catch(function (error) {
        if (error.name === "AbortError") { return; }
        showWarnings([{param: "", message: String(error.message || error)}]);
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  }

  city.addEventListener("change", function () { fillCounties(); later(); });
  form.addEventListener("change", later);
  form.addEventListener("input", later);
  form.addEventListener("submit", function (event) { event.preventDefault(); });

  // The preview is a widget like any other: it tells its height.
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== window.location.origin || event.source !== preview.contentWindow ||
        !data || data.type !== "locator:height" || data.id !== "preview") { return; }
    var height = Number(data.height);
    if (isFinite(height) && height > 0 && height < 20000) {
      preview.style.height = Math.ceil(height) + "px";
    }
  });

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var field = $(button.dataset.copy);
      var fallback = function () {
        field.focus();
        field.select();
        var copied = false;
        try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
        note.textContent = copied ? T.copied : T.copyFailed;
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          note.textContent = T.copied;
        }, fallback);
      } else {
        fallback();
      }
    });
  });

  update();
})();
