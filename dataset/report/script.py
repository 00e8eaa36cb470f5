"""The report's inline script: filter and sort ``.filterable`` blocks and sortable tables.

Small and dependency-free, so the page stays one offline file. Without scripts the page
shows everything it embeds (the controls are made by the script itself).
"""

SCRIPT = r"""
(function () {
  "use strict";
  function items(block) { return Array.prototype.slice.call(block.querySelectorAll(".item")); }
  function values(list, field) {
    var seen = {};
    list.forEach(function (el) {
      var v = el.getAttribute("data-k-" + field);
      if (v !== null && v !== "") { seen[v] = true; }
    });
    return Object.keys(seen).sort();
  }
  function select(label, options, first) {
    var wrap = document.createElement("label");
    wrap.textContent = label + " ";
    var box = document.createElement("select");
    box.setAttribute("data-control", label);
    [first].concat(options).forEach(function (v, i) {
      var o = document.createElement("option");
      o.value = i === 0 ? "" : v;
      o.textContent = v;
      box.appendChild(o);
    });
    wrap.appendChild(box);
    return { wrap: wrap, box: box };
  }
  function setUp(block) {
    var list = items(block);
    var filters = (block.getAttribute("data-filters") || "").split(",").filter(Boolean);
    var sorts = (block.getAttribute("data-sorts") || "").split(",").filter(Boolean);
    var bar = document.createElement("div");
    bar.className = "controls";
    var chosen = {};
    function apply() {
      var shown = 0;
      list.forEach(function (el) {
        var ok = Object.keys(chosen).every(function (f) {
          return !chosen[f] || el.getAttribute("data-k-" + f) === chosen[f];
        });
        el.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var count = block.querySelector(".count .shown");
      if (count) { count.textContent = String(shown); }
    }
    filters.forEach(function (f) {
      var options = values(list, f);
      if (options.length < 2) { return; }
      var s = select(f, options, "all");
      s.box.addEventListener("change", function () { chosen[f] = s.box.value; apply(); });
      bar.appendChild(s.wrap);
    });
    if (sorts.length) {
      var s = select("sort", sorts, "as built");
      var original = list.slice();
      s.box.addEventListener("change", function () {
        var key = s.box.value;
        var order = key ? list.slice().sort(function (a, b) {
          return Number(b.getAttribute("data-s-" + key)) - Number(a.getAttribute("data-s-" + key));
        }) : original;
        order.forEach(function (el) { el.parentNode.appendChild(el); });
      });
      bar.appendChild(s.wrap);
    }
    if (bar.children.length) { block.insertBefore(bar, block.firstChild); }
  }
  function sortTable(table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      var down = true;  // the first click sorts ascending
      button.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        down = !down;
        rows.sort(function (a, b) {
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
      });
    });
  }
  document.querySelectorAll(".filterable").forEach(setUp);
  document.querySelectorAll("table.sortable").forEach(sortTable);
})();
"""
