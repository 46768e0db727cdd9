// foldboard's live pages: subscribe to the topics the page names in
// <body data-topics>, and swap in each fragment the server pushes. Every top
// element of a fragment carries the id of the element it replaces. A lost
// connection comes back by itself; the server sends every topic's current
// fragment on connect, so nothing missed stays missing.
(function () {
  "use strict";
  var topics = (document.body.dataset.topics || "").split(" ").filter(Boolean);
  if (topics.length === 0) return;
  var status = document.getElementById("live-status");
  var delay = 250;

  function setStatus(state, text) {
    document.body.dataset.live = state;
    if (status) status.textContent = text;
  }

  function swap(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    Array.prototype.slice.call(tpl.content.children).forEach(function (el) {
      if (!el.id) return;
      var current = document.getElementById(el.id);
      if (!current) return;
      current.replaceWith(el);
      reloadFollowers(el.id);
    });
    document.dispatchEvent(new CustomEvent("foldboard:swapped"));
  }

  // A part of a page that depends on the viewer (a filtered, paged list) is
  // not pushed: it names, in data-reload-on, the pushed element whose change
  // means it is stale, and is fetched again from data-reload-url.
  var reloading = {};
  function reloadFollowers(id) {
    document.querySelectorAll("[data-reload-on]").forEach(function (el) {
      if (el.dataset.reloadOn.split(" ").indexOf(id) < 0 || !el.id) return;
      reload(el.id, el.dataset.reloadUrl);
    });
  }
  function reload(id, url) {
    if (reloading[id]) { reloading[id] = "again"; return; }
    reloading[id] = true;
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    fetch(url + sep + "fragment=1", { headers: { Accept: "text/html" } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html;
        var fresh = tpl.content.getElementById(id);
        var current = document.getElementById(id);
        if (fresh && current) current.replaceWith(fresh);
      })
      .catch(function () {})
      .then(function () {
        var again = reloading[id] === "again";
        reloading[id] = false;
        if (again) reload(id, url);
      });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var query = topics.map(function (t) { return "topic=" + encodeURIComponent(t); }).join("&");
    var ws = new WebSocket(scheme + location.host + "/ws?" + query);
    ws.onopen = function () { delay = 250; setStatus("on", "live"); };
    ws.onmessage = function (ev) { swap(ev.data); };
    ws.onclose = function () {
      setStatus("off", "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
  }
  connect();
})();
