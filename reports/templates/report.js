/* vhucheck report: filters by verdict, area and text; state kept in the
   URL hash so a filtered view can be linked. No dependencies. */
(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function () {
    root.setAttribute("data-js-errors", String((+root.getAttribute("data-js-errors") || 0) + 1));
  });
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  var items = all("[data-item]");
  var groups = all("[data-group]");
  var vbtn = all("[data-fv]");
  var abtn = all("[data-fa]");
  var q = document.getElementById("q");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");
  var FAILING = ["FAIL", "CRASH", "TIMEOUT", "DEADLOCK", "ERROR", "FLAKY"];
  var diffBtn = document.querySelector("[data-act=diff]");

  function pressed(b) { return b.getAttribute("aria-pressed") === "true"; }
  function press(b, on) { b.setAttribute("aria-pressed", on ? "true" : "false"); }
  function picked(btns, attr) {
    var s = {};
    btns.forEach(function (b) { if (pressed(b)) { s[b.getAttribute(attr)] = true; } });
    return s;
  }

  function apply(save) {
    var vs = picked(vbtn, "data-fv"), as = picked(abtn, "data-fa");
    var text = q ? q.value.trim().toLowerCase() : "";
    var n = 0;
    items.forEach(function (it) {
      var verdicts = (it.getAttribute("data-verdict") || "").split(" ");
      var okV = !vbtn.length || verdicts.some(function (v) { return vs[v]; });
      var okA = !abtn.length || as[it.getAttribute("data-area")];
      var okT = !text || (it.getAttribute("data-search") || "").indexOf(text) >= 0;
      var okD = !diffBtn || !pressed(diffBtn) || it.getAttribute("data-diff") === "1";
      it.hidden = !(okV && okA && okT && okD);
      if (!it.hidden) { n++; }
    });
    groups.forEach(function (g) {
      g.hidden = !g.querySelector("[data-item]:not([hidden])");
    });
    if (shown) { shown.textContent = n + " of " + items.length + " shown"; }
    if (empty) { empty.hidden = n !== 0; }
    if (save) { saveHash(vs, as, text); }
  }

  function saveHash(vs, as, text) {
    var parts = [];
    if (vbtn.some(function (b) { return !pressed(b); })) { parts.push("v=" + Object.keys(vs).join(",")); }
    if (abtn.some(function (b) { return !pressed(b); })) { parts.push("a=" + Object.keys(as).join(",")); }
    if (text) { parts.push("q=" + encodeURIComponent(text)); }
    var h = parts.length ? "#" + parts.join("&") : " ";
    if (window.history && history.replaceState) { history.replaceState(null, "", h === " " ? location.pathname : h); }
  }

  function loadHash() {
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (!h) { return; }
    var target = document.getElementById(h);
    if (target) {
      if (target.tagName === "DETAILS") { target.open = true; }
      setTimeout(function () { target.scrollIntoView({ block: "start" }); }, 0);
      return;
    }
    h.split("&").forEach(function (kv) {
      var k = kv.slice(0, 2), v = kv.slice(2);
      if (k === "v=") { var vs = v.split(","); vbtn.forEach(function (b) { press(b, vs.indexOf(b.getAttribute("data-fv")) >= 0); }); }
      if (k === "a=") { var as = v.split(","); abtn.forEach(function (b) { press(b, as.indexOf(b.getAttribute("data-fa")) >= 0); }); }
      if (k === "q=" && q) { q.value = v; }
    });
  }

  function toggle(btns, b, ev) {
    if (ev.altKey || ev.shiftKey || ev.metaKey) {        /* solo */
      btns.forEach(function (o) { press(o, o === b); });
    } else {
      press(b, !pressed(b));
    }
    apply(true);
  }
  vbtn.forEach(function (b) { b.addEventListener("click", function (ev) { toggle(vbtn, b, ev); }); });
  abtn.forEach(function (b) { b.addEventListener("click", function (ev) { toggle(abtn, b, ev); }); });
  if (q) { q.addEventListener("input", function () { apply(true); }); }

  var actions = {
    expand: function () { all("details[data-item]:not([hidden])").forEach(function (d) { d.open = true; }); },
    collapse: function () { all("details[data-item]").forEach(function (d) { d.open = false; }); },
    failures: function () {
      vbtn.forEach(function (b) { press(b, FAILING.indexOf(b.getAttribute("data-fv")) >= 0); });
      apply(true);
    },
    diff: function () { press(diffBtn, !pressed(diffBtn)); apply(true); },
    all: function () {
      vbtn.concat(abtn).forEach(function (b) { press(b, true); });
      if (diffBtn) { press(diffBtn, false); }
      if (q) { q.value = ""; }
      apply(true);
    }
  };
  all("[data-act]").forEach(function (b) {
    b.addEventListener("click", function () { actions[b.getAttribute("data-act")](); });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && q && document.activeElement !== q) { ev.preventDefault(); q.focus(); }
  });

  /* A trace's interesting end is its last lines: show them first. */
  function tail(pre) { pre.scrollTop = pre.scrollHeight; }
  all("pre.trace").forEach(function (pre) {
    var box = pre.parentNode;
    if (box.open) { tail(pre); }
    box.addEventListener("toggle", function () { if (box.open) { tail(pre); } });
  });
  all("details.case").forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (d.open) { Array.prototype.forEach.call(d.querySelectorAll("details[open] > pre.trace"), tail); }
    });
  });

  window.addEventListener("hashchange", function () {
    var t = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (t && t.tagName === "DETAILS") { t.hidden = false; t.open = true; }
  });

  loadHash();
  apply(false);
  root.setAttribute("data-ready", "1");
})();
