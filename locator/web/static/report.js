/* The drivers' report form (纠错), shared by the station page, the driver list and the
 * embed widget's popups: open → pick what is wrong → send, three taps on a phone; a
 * category that needs a detail shows one small input (words, an amenity or a pin).
 *
 * No account and no cookie: the report is JSON posted to this site with
 * credentials "omit". Every string is set with textContent or DOM properties, never as
 * HTML. The configuration (endpoint, categories, texts) is the page's JSON block.
 *
 *   LocatorReport.create(options) -> {element, open(), close()}
 *   LocatorReport.attach(container, facilityId, options) adds a "纠错" button that
 *     opens the form below it (one open form per page).
 *
 * options: config (the server's report block), facilityId, name (for labels),
 *   pickPoint(onPoint) starts choosing a pin on the page's map and calls onPoint([lon, lat])
 *   in WGS-84 (returns a function that stops it), locate (true: "use my position" for
 *   the pin), onChange() after the form's size changed.
 */
(function () {
  "use strict";

  var FETCH_TIMEOUT_MS = 20000;
  var openForm = null;  // the one open form of the page

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function pathUrl(template, id) {
    var path = String(id).split("/").map(function (part) {
      return encodeURIComponent(part).replace(/%3A/gi, ":");
    }).join("/");
    return template.replace("__ID__", path);
  }

  function create(options) {
    var config = options.config;
    var T = config.text;
    var changed = options.onChange || function () {};
    var chosen = null;     // the category picked
    var pin = null;        // [lon, lat] in WGS-84
    var stopPicking = null;

    var form = el("form", "report-form");
    form.noValidate = true;
    form.setAttribute("aria-label", options.name ? T.title + ": " + options.name : T.title);
    form.appendChild(el("p", "report-question", T.question));

    var grid = el("div", "report-categories");
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", T.question);
    var buttons = {};
    config.categories.forEach(function (category) {
      var button = el("button", "report-category", category.label);
      button.type = "button";
      button.dataset.category = category.key;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () { pick(category); });
      buttons[category.key] = button;
      grid.appendChild(button);
    });
    form.appendChild(grid);

    var detail = el("div", "report-detail");
    detail.hidden = true;
    form.appendChild(detail);

    // The honeypot: off-screen, never focused, never filled by a person.
    var trap = el("input", "report-trap");
    trap.type = "text";
    trap.name = config.honeypot;
    trap.tabIndex = -1;
    trap.autocomplete = "off";
    trap.setAttribute("aria-hidden", "true");
    form.appendChild(trap);

    var actions = el("div", "report-actions");
    var send = el("button", "report-send", T.send);
    send.type = "submit";
    send.hidden = true;
    var cancel = el("button", "report-cancel", T.cancel);
    cancel.type = "button";
    actions.appendChild(send);
    actions.appendChild(cancel);
    form.appendChild(actions);

    var note = el("p", "report-note");
    note.setAttribute("role", "status");
    note.setAttribute("aria-live", "polite");
    form.appendChild(note);

    var input = null;  // the detail's text input or select

    function say(text, kind) {
      note.textContent = text || "";
      note.className = "report-note" + (kind ? " is-" + kind : "");
      changed();
    }

    function stopPin() {
      if (stopPicking) { stopPicking(); stopPicking = null; }
    }

    var pinHint = options.pickPoint ? T.pinHintMap : T.pinHintHere;

    function pinText() {
      return pin ? T.pinSet + " " + pin[0].toFixed(5) + ", " + pin[1].toFixed(5) : pinHint;
    }

    function pick(category) {
      chosen = category;
      Object.keys(buttons).forEach(function (key) {
        buttons[key].setAttribute("aria-pressed", key === category.key ? "true" : "false");
      });
      stopPin();
      pin = null;
      input = null;
      detail.textContent = "";
      detail.hidden = !category.detail;
      if (category.detail === "text" || category.detail === "text_required") {
        input = el("input", "report-text");
        input.type = "text";
        input.maxLength = config.maxText;
        input.placeholder = T.hints[category.key] || T.hints.text;
        input.setAttribute("aria-label", input.placeholder);
        detail.appendChild(input);
      } else if (category.detail === "amenity") {
        input = el("select", "report-amenity");
        input.setAttribute("aria-label", T.amenityHint);
        var first = el("option", null, T.amenityHint);
        first.value = "";
        input.appendChild(first);
        config.amenities.forEach(function (pair) {
          var option = el("option", null, pair[1]);
          option.value = pair[0];
          input.appendChild(option);
        });
        detail.appendChild(input);
      } else if (category.detail === "point") {
        var where = el("p", "report-pin", pinHint);
        detail.appendChild(where);
        if (options.pickPoint) {
          stopPicking = options.pickPoint(function (point) {
            pin = point;
            where.textContent = pinText();
            changed();
          });
        }
        if (options.locate && "geolocation" in navigator) {
          var here = el("button", "report-locate", T.useMyPosition);
          here.type = "button";
          here.addEventListener("click", function () {
            here.disabled = true;
            where.textContent = T.locating;
            navigator.geolocation.getCurrentPosition(function (position) {
              here.disabled = false;
              pin = [position.coords.longitude, position.coords.latitude];
              where.textContent = pinText();
              changed();
            }, function () {
              here.disabled = false;
              where.textContent = T.noPosition;
              changed();
            }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 0});
          });
          detail.appendChild(here);
        }
      }
      send.hidden = false;
      say("");
      if (input && input.tagName === "INPUT") { input.focus(); }
    }

    function body() {
      var data = {category: chosen.key};
      var value = input ? input.value.trim() : "";
      if (chosen.detail === "amenity") {
        if (!value) { return T.amenityMissing; }
        data.amenity = value;
      } else if (chosen.detail === "point") {
        if (!pin) { return T.pinMissing; }
        data.lon = Number(pin[0].toFixed(7));
        data.lat = Number(pin[1].toFixed(7));
      } else if (input) {
        if (!value && chosen.detail === "text_required") { return T.textMissing; }
        if (value) { data.text = value; }
      }
      if (trap.value) { data[config.honeypot] = trap.value; }
      return data;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chosen) { say(T.chooseFirst, "error"); return; }
      var data = body();
      if (typeof data === "string") { say(data, "error"); return; }
      send.disabled = true;
      say(T.sending, "loading");
      var controller = "AbortController" in window ? new AbortController() : null;
      var timer = setTimeout(function () { if (controller) { controller.abort(); } },
                             FETCH_TIMEOUT_MS);
      fetch(pathUrl(config.url, options.facilityId), {
        method: "POST",
        credentials: "omit",
        headers: {"Content-Type": "application/json", Accept: "application/json"},
        body: JSON.stringify(data),
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        clearTimeout(timer);
        send.disabled = false;
        if (response.status === 201) {
          received();
        } else if (response.status === 429) {
          say(T.limited, "error");
        } else if (response.status === 404) {
          say(T.gone, "error");
        } else {
          say(T.invalid, "error");
        }
      }, function () {
        clearTimeout(timer);
        send.disabled = false;
        say(T.failed, "error");
      });
    });

    var wrap = el("div", "report");
    wrap.hidden = true;
    wrap.appendChild(form);
    var done = el("p", "report-received", T.received);
    done.setAttribute("role", "status");
    done.hidden = true;
    wrap.appendChild(done);

    function received() {
      stopPin();
      form.hidden = true;
      done.hidden = false;
      wrap.dataset.state = "sent";
      changed();
    }

    var handle = {
      element: wrap,
      open: function () {
        if (openForm && openForm !== handle) { openForm.close(); }
        openForm = handle;
        wrap.hidden = false;
        wrap.dataset.state = "open";
        changed();
      },
      close: function () {
        stopPin();
        wrap.hidden = true;
        if (openForm === handle) { openForm = null; }
        if (handle.onClose) { handle.onClose(); }
        changed();
      }
    };
    cancel.addEventListener("click", function () { handle.close(); });
    return handle;
  }

  /** A "纠错" button in ``container`` that opens the form below it. */
  function attach(container, facilityId, options) {
    var config = options.config;
    var button = el("button", "report-open", config.text.open);
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    if (options.name) { button.setAttribute("aria-label", config.text.open + ": " + options.name); }
    var handle = null;
    button.addEventListener("click", function (event) {
      event.stopPropagation();
      if (!handle) {
        var settings = {};
        Object.keys(options).forEach(function (key) { settings[key] = options[key]; });
        settings.facilityId = facilityId;
        handle = create(settings);
        handle.onClose = function () { button.setAttribute("aria-expanded", "false"); };
        (options.formParent || container).appendChild(handle.element);
      }
      if (handle.element.hidden) {
        handle.open();
        button.setAttribute("aria-expanded", "true");
      } else {
        handle.close();
      }
    });
    container.appendChild(button);
    return button;
  }

  window.LocatorReport = {create: create, attach: attach};
})();
