// foldboard's live pages: subscribe to the topics the page names in
// <body data-topics>, and swap in each fragment the server pushes. Every top
// element of a fragment carries the id of the element it replaces. A lost
// connection comes back by itself; the server sends every topic's current
// fragment on connect, so nothing missed stays missing.
(function () {
  "use strict";
  keepAddress();
  refreshEvery();
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
      var form = typedIn(current);
      if (form) { hold(form, el); return; }
      current.replaceWith(el);
      reloadFollowers(el.id);
    });
    document.dispatchEvent(new CustomEvent("foldboard:swapped"));
  }

  // A form someone has typed in is theirs: a live update does not change
  // its fields (the next innings, the version it expects) under them. The
  // update is held, and the form says the stream moved and lets them choose:
  // take the new version (the pushed fields change, what else they typed
  // stays) or keep what they typed (sent as it is, against the version they
  // saw, which the server then answers as a conflict if it matters).
  document.addEventListener("input", function (ev) {
    var form = ev.target && ev.target.closest && ev.target.closest("form.command");
    if (form) form.dataset.typing = "true";
  });
  // A form that came back with a problem holds what the person sent (the
  // innings they typed, the field the problem is tied to): the same.
  document.querySelectorAll("form.command").forEach(function (form) {
    if (form.querySelector(".problem")) form.dataset.typing = "true";
  });

  function typedIn(el) {
    var form = el.closest && el.closest("form.command");
    if (form && form.dataset.typing === "true") return form;
    return el.querySelector ? el.querySelector("form.command[data-typing='true']") : null;
  }

  function hold(form, el) {
    form.held = form.held || {};
    form.held[el.id] = el;
    // Only a stream that moved is news: a fragment of the version the form
    // already expects (the one sent when the page connects) is held
    // without a word.
    var version = movedTo(form);
    if (version === null) return;
    var notice = form.querySelector(".stale-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.className = "stale-notice";
      notice.setAttribute("role", "alert");
      notice.innerHTML = '<p></p><button type="button" class="take">Use the new version</button> ' +
        '<button type="button" class="keep">Keep what I typed</button>';
      notice.querySelector(".take").addEventListener("click", function () { release(form, true); });
      notice.querySelector(".keep").addEventListener("click", function () { release(form, false); });
      form.prepend(notice);
    }
    if (version) notice.dataset.version = version;
    notice.querySelector("p").textContent = "This changed while you were typing" +
      (notice.dataset.version ? " (it is now at version " + notice.dataset.version + ")" : "") +
      ". Your form still shows what you saw; nothing was sent.";
  }

  // movedTo is the version a held fragment brings that the form does not
  // expect yet, or null; "" for a form that expects none (any change is
  // news there).
  function movedTo(form) {
    if (!form.querySelector("input[name=expectedVersion]")) return "";
    var ids = Object.keys(form.held || {});
    for (var i = 0; i < ids.length; i++) {
      var el = form.held[ids[i]], current = document.getElementById(ids[i]);
      if (el.matches("input[name=expectedVersion]") && current && current.value !== el.value) return el.value;
    }
    return null;
  }

  function release(form, take) {
    var held = form.held || {};
    form.held = {};
    var notice = form.querySelector(".stale-notice");
    if (notice) notice.remove();
    if (!take) return;
    Object.keys(held).forEach(function (id) {
      var current = document.getElementById(id);
      if (current) current.replaceWith(held[id]);
      reloadFollowers(id);
    });
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
    ws.onmessage = function (ev) {
      var start = performance.now();
      swap(ev.data);
      // A push of a change ends with its number: say how long applying it
      // took here, and the server, which times the round trip, counts the
      // append → applied latency (the dashboard's browser figures).
      var mark = /<!--push (\d+)-->$/.exec(ev.data);
      if (mark && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ applied: Number(mark[1]), ms: performance.now() - start }));
      }
    };
    ws.onclose = function () {
      setStatus("off", "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
  }
  connect();

  // A part of a page that no topic pushes (the projections board) names in
  // data-refresh-every how often to fetch it again from data-reload-url.
  function refreshEvery() {
    document.querySelectorAll("[data-refresh-every]").forEach(function (el) {
      var every = Math.max(1000, Number(el.dataset.refreshEvery) || 0);
      setInterval(function () {
        if (document.hidden || !el.id) return;
        var current = document.getElementById(el.id);
        if (current) fetchAgain(el.id, current.dataset.reloadUrl);
      }, every);
    });
  }
  function fetchAgain(id, url) {
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
      .catch(function () {});
  }

  // The address bar names the page shown: after a form's error the page is
  // the answer to a POST at the command's address; the page's own address
  // (data-address) replaces it, and the header form's problem leaves it.
  function keepAddress() {
    var address = document.body.dataset.address;
    var url = new URL(location.href);
    var changed = false;
    ["who-error", "who"].forEach(function (k) {
      if (url.searchParams.has(k)) { url.searchParams.delete(k); changed = true; }
    });
    if (address && address.charAt(0) === "/" && url.pathname !== address) {
      url = new URL(address, location.origin);
      changed = true;
    }
    if (changed) history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }
})();
