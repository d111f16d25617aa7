/* canalis web UI: what needs JavaScript. Pages read without it; this adds live updates of a
   running run (its graph, step table and status), log streaming, and arrow-key navigation in
   tables. Written for this package; it loads nothing from elsewhere. */
(function () {
  "use strict";
  var POLL_MS = 1000;

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  function enc(s) { return encodeURIComponent(s); }
  function setBadge(el, status) {
    if (!el) { return; }
    var badge = el.querySelector(".status") || el;
    badge.className = "status s-" + status.toLowerCase();
    badge.textContent = status;
  }

  /* the run page: poll its state while it is queued or running */
  function liveRun() {
    var head = document.getElementById("run-status");
    if (!head) { return; }
    var runId = head.getAttribute("data-run");
    var initial = head.textContent.trim();
    if (initial !== "Queued" && initial !== "Running") { return; }
    var svg = document.querySelector("svg.dag[data-live-run]");
    function tick() {
      getJSON("/ui/live/runs/" + enc(runId)).then(function (state) {
        setBadge(head, state.status);
        Object.keys(state.steps).forEach(function (name) {
          var s = state.steps[name];
          if (svg) {
            svg.querySelectorAll("g.node").forEach(function (g) {
              if (g.getAttribute("data-step") !== name) { return; }
              var cls = "node s-" + s.status.toLowerCase() + (s.status === "Reused" ? " reused" : "");
              g.setAttribute("class", cls);
              g.setAttribute("data-status", s.status);
              var sub = g.querySelector(".node-sub");
              if (sub) { sub.textContent = s.status; }
            });
          }
          document.querySelectorAll("table.steps tr[data-step]").forEach(function (tr) {
            if (tr.getAttribute("data-step") !== name) { return; }
            setBadge(tr.querySelector("td.state"), s.status);
            var label = tr.querySelector(".label");
            if (label) { label.textContent = s.label; }
          });
        });
        if (state.ended) { window.location.reload(); } else { window.setTimeout(tick, POLL_MS); }
      }).catch(function () { window.setTimeout(tick, POLL_MS * 3); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  /* the step page: append what a running step writes to its logs */
  function liveLogs() {
    document.querySelectorAll("pre.log[data-live='yes']").forEach(function (pre) {
      var url = "/ui/live/runs/" + enc(pre.getAttribute("data-run")) + "/steps/" + enc(pre.getAttribute("data-step")) +
        "/logs/" + pre.getAttribute("data-stream");
      var end = parseInt(pre.getAttribute("data-end"), 10) || 0;
      function tick() {
        getJSON(url + "?offset=" + end).then(function (got) {
          if (got.text) {
            var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
            pre.appendChild(document.createTextNode(got.text));
            if (atBottom) { pre.scrollTop = pre.scrollHeight; }
          }
          end = got.end;
          pre.setAttribute("data-end", String(end));
          setBadge(document.getElementById("step-status"), got.status);
          if (got.ended) { pre.setAttribute("data-live", "no"); } else { window.setTimeout(tick, POLL_MS); }
        }).catch(function () { window.setTimeout(tick, POLL_MS * 3); });
      }
      window.setTimeout(tick, POLL_MS);
    });
  }

  /* tables: one cell in the tab order; arrow keys, Home and End move between cells, Enter
     follows the cell's link */
  function keyboardTables() {
    document.querySelectorAll("table.data").forEach(function (table) {
      var cells = table.querySelectorAll("th, td");
      if (!cells.length) { return; }
      cells.forEach(function (c) { c.setAttribute("tabindex", "-1"); });
      cells[0].setAttribute("tabindex", "0");
      table.addEventListener("keydown", function (ev) {
        var cell = ev.target.closest("th, td");
        if (!cell || cell !== ev.target) { return; }
        var row = cell.parentElement, rows = Array.prototype.slice.call(table.rows);
        var r = rows.indexOf(row), c = Array.prototype.indexOf.call(row.cells, cell), next = null;
        if (ev.key === "ArrowRight") { next = row.cells[c + 1]; }
        else if (ev.key === "ArrowLeft") { next = row.cells[c - 1]; }
        else if (ev.key === "ArrowDown" && rows[r + 1]) { next = rows[r + 1].cells[Math.min(c, rows[r + 1].cells.length - 1)]; }
        else if (ev.key === "ArrowUp" && rows[r - 1]) { next = rows[r - 1].cells[Math.min(c, rows[r - 1].cells.length - 1)]; }
        else if (ev.key === "Home") { next = row.cells[0]; }
        else if (ev.key === "End") { next = row.cells[row.cells.length - 1]; }
        else if (ev.key === "Enter") {
          var link = cell.querySelector("a, input, button");
          if (link) { link.click(); ev.preventDefault(); }
          return;
        }
        if (next) {
          cells.forEach(function (x) { x.setAttribute("tabindex", "-1"); });
          next.setAttribute("tabindex", "0");
          next.focus();
          ev.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    keyboardTables();
    liveRun();
    liveLogs();
  });
}());
