/* The loader a partner site includes:
 *
 *   <script src="https://HOST/embed.js" data-city="合肥市" data-kind="driver_home" async></script>
 *
 * It puts the station map's iframe where the script is (or into the element whose id is
 * data-target) and sets the iframe's height from the messages of that iframe only (origin
 * and window checked). It touches nothing else on the host page: one global,
 * window.LocatorEmbed, and inline styles on its own iframes; no stylesheet, no cookie.
 *
 * Options are the script's data-* attributes: city, county, kind, amenity, status, center,
 * zoom, lang, theme, list, tiles, height, focus (passed to /embed, which checks them and
 * reports bad ones in the browser console); data-target, data-width (a maximum width in
 * pixels) and data-title stay here.
 */
(function () {
  "use strict";

  var LOCAL = {target: true, width: true, title: true};
  var MIN_HEIGHT = 60, MAX_HEIGHT = 20000;
  var ns = window.LocatorEmbed;

  if (!ns) {
    ns = window.LocatorEmbed = {version: 1, frames: [], count: 0};
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (!data || typeof data !== "object" || data.type !== "locator:height") { return; }
      for (var i = 0; i < ns.frames.length; i += 1) {
        var frame = ns.frames[i];
        if (event.origin === frame.origin && event.source === frame.iframe.contentWindow &&
            data.id === frame.id) {
          var height = Number(data.height);
          if (isFinite(height) && height >= MIN_HEIGHT && height <= MAX_HEIGHT) {
            frame.iframe.style.height = Math.ceil(height) + "px";
          }
          return;
        }
      }
    });
  }

  function done(script) {
    for (var i = 0; i < ns.frames.length; i += 1) {
      if (ns.frames[i].script === script) { return true; }
    }
    return false;
  }

  function isLoader(script) {
    if (!script || !script.src) { return false; }
    try {
      return /\/embed\.js$/.test(new URL(script.src, document.baseURI).pathname);
    } catch (error) {
      return false;
    }
  }

  function insert(script) {
    var src = new URL(script.src, document.baseURI);
    var base = src.origin + src.pathname.replace(/\/embed\.js$/, "");
    var params = new URLSearchParams();
    var local = {};
    for (var i = 0; i < script.attributes.length; i += 1) {
      var attr = script.attributes[i];
      if (attr.name.indexOf("data-") !== 0) { continue; }
      var name = attr.name.slice(5);
      if (LOCAL[name]) { local[name] = attr.value; } else { params.append(name, attr.value); }
    }
    ns.count += 1;
    var id = "locator-embed-" + ns.count;
    params.set("id", id);

    var mapHeight = parseInt(params.get("height"), 10);
    mapHeight = isFinite(mapHeight) && mapHeight > 0 ? mapHeight : 400;
    var width = parseInt(local.width, 10);

    var iframe = document.createElement("iframe");
    iframe.src = base + "/embed?" + params.toString();
    iframe.title = local.title || (params.get("lang") === "en" ? "Map of driver service stations"
                                                               : "司机服务站点地图");
    iframe.setAttribute("loading", "lazy");
    iframe.setAttribute("allow", "geolocation");
    iframe.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    iframe.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups " +
                                   "allow-popups-to-escape-sandbox");
    var style = iframe.style;  // inline only: nothing leaks into the host page's CSS
    style.display = "block";
    style.width = "100%";
    if (isFinite(width) && width > 0) { style.maxWidth = width + "px"; }
    style.height = (mapHeight + 32) + "px";
    style.border = "0";
    style.margin = "0";
    style.padding = "0";
    style.overflow = "hidden";
    style.colorScheme = "normal";

    var frame = {id: id, origin: src.origin, iframe: iframe, script: script};
    ns.frames.push(frame);

    var place = function () {
      var target = local.target ? document.getElementById(local.target) : null;
      if (target) {
        target.appendChild(iframe);
      } else {
        if (local.target) { console.warn("[locator embed] no element with id " + local.target); }
        script.parentNode.insertBefore(iframe, script.nextSibling);
      }
    };
    if (local.target && !document.getElementById(local.target) &&
        document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", place);
    } else {
      place();
    }
  }

  var current = document.currentScript;
  if (isLoader(current) && !done(current)) {
    insert(current);
  } else {
    // Without currentScript (some loaders): every loader script not yet handled.
    var scripts = document.getElementsByTagName("script");
    for (var i = 0; i < scripts.length; i += 1) {
      if (isLoader(scripts[i]) && !done(scripts[i]) && scripts[i].parentNode) {
        insert(scripts[i]);
      }
    }
  }
})();
