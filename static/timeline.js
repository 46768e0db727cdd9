// The timeline's controls: step, scrub, play, keys, and the URL following
// along (?v=N), so every moment is a link and the back button works. Each step
// fetches the server-rendered part of the page for that version and swaps it
// in. Without JavaScript the first/previous/next/last links still work.
(function () {
  "use strict";
  var root = document.getElementById("timeline");
  if (!root) return;
  var base = "/streams/" + root.dataset.stream + "/timeline";
  var slider = document.getElementById("tl-slider");
  var atOut = document.getElementById("tl-at");
  var play = document.getElementById("tl-play");
  var speed = document.getElementById("tl-speed");
  var at = Number(root.dataset.at);
  var latest = Number(root.dataset.latest);
  var requested = 0; // numbers fetches, so that only the newest is shown
  var wanted = at; // the version last fetched (or shown first)
  var timer = null;

  function link(id, v) {
    var a = document.getElementById(id);
    if (a) a.href = base + "?v=" + v;
  }

  function show(v) {
    at = v;
    root.dataset.at = String(v);
    slider.value = String(v);
    slider.max = String(latest);
    atOut.textContent = String(v);
    link("tl-first", 0);
    link("tl-prev", Math.max(v - 1, 0));
    link("tl-next", Math.min(v + 1, latest));
    link("tl-last", latest);
  }

  // go shows version v; history is "push", "replace" or "none".
  function go(v, history) {
    v = Math.max(0, Math.min(latest, Math.round(v)));
    show(v);
    if (history === "push" && v !== Number(new URLSearchParams(location.search).get("v"))) {
      window.history.pushState({ v: v }, "", base + "?v=" + v);
    } else if (history === "replace") {
      window.history.replaceState({ v: v }, "", base + "?v=" + v);
    }
    wanted = v;
    var n = ++requested;
    return fetch(base + "?v=" + v + "&fragment=1", { headers: { Accept: "text/html" } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
      .then(function (html) {
        if (n !== requested) return;
        var tpl = document.createElement("template");
        tpl.innerHTML = html;
        var body = tpl.content.getElementById("timeline-body");
        var current = document.getElementById("timeline-body");
        if (body && current) current.replaceWith(body);
        document.dispatchEvent(new CustomEvent("foldboard:timeline", { detail: { at: v } }));
      })
      .catch(function () { /* the links still work; the next step tries again */ });
  }

  ["tl-first", "tl-prev", "tl-next", "tl-last"].forEach(function (id) {
    var a = document.getElementById(id);
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      stop();
      go(Number(new URL(a.href).searchParams.get("v")), "push");
    });
  });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("#timeline-body ol.events a");
    if (!a) return;
    ev.preventDefault();
    go(Number(new URL(a.href).searchParams.get("v")), "push");
  });

  // An arrow key on the slider fires both input and change: one fetch.
  function slid() {
    var v = Number(slider.value);
    if (v !== wanted) go(v, "replace");
  }
  slider.addEventListener("input", slid);
  slider.addEventListener("change", slid);

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (t === slider || (t && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    var to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: latest }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    stop();
    go(to, "push");
  });

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = "Play";
    play.setAttribute("aria-pressed", "false");
  }
  function start() {
    if (at >= latest) go(0, "replace");
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    timer = setInterval(function () {
      if (at >= latest) { stop(); return; }
      go(at + 1, "replace");
    }, Number(speed.value));
  }
  play.addEventListener("click", function () { if (timer) stop(); else start(); });
  speed.addEventListener("change", function () { if (timer) { stop(); start(); } });

  window.addEventListener("popstate", function (ev) {
    var v = ev.state && typeof ev.state.v === "number" ? ev.state.v
      : Number(new URLSearchParams(location.search).get("v") || latest);
    stop();
    go(v, "none");
  });

  // A new event arrived (pushed live into #tl-latest): the slider grows, and a
  // page that was following the latest version moves with it.
  document.addEventListener("foldboard:swapped", function () {
    var el = document.getElementById("tl-latest");
    if (!el) return;
    var next = Number(el.dataset.latest);
    if (next === latest) return;
    var following = at === latest;
    latest = next;
    root.dataset.latest = String(latest);
    if (following && !timer) go(latest, "replace");
    else show(at);
  });

  window.history.replaceState({ v: at }, "", location.href);
})();
