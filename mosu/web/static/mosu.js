/* mosu: draw every server-built plotly figure on the page.

   plotly.js (1.5 MB) loads only where a figure is: this script's data-plotly attribute
   names the bundle, fetched once the page shows a [data-figure] element (a page that
   inlines plotly, the downloaded race report, has window.Plotly already).

   A figure is data: the JSON block named by an element's data-figure attribute. Plotly
   renders text (tick labels, hover text, legend names, titles) as a small subset of HTML,
   links included, so every string in the figure is escaped here, the one place every
   chart passes through, before plotly sees it: a label "<a href=...>" shows literally.
   Only the keys that are templates or formats (hovertemplate, texttemplate, tickformat,
   the layout's template) are left as written: they are code, never data. */
(function () {
  "use strict";
  var ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"};
  var CODE_KEYS = /template|format/i;

  function escapeFigure(value) {
    if (typeof value === "string") {
      return value.replace(/[&<>]/g, function (c) { return ENTITIES[c]; });
    }
    if (Array.isArray(value)) { return value.map(escapeFigure); }
    if (value !== null && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (key) {
        out[key] = CODE_KEYS.test(key) ? value[key] : escapeFigure(value[key]);
      });
      return out;
    }
    return value;
  }

  /* A bar whose point carries a path on this site (its customdata) opens it when clicked:
     the overview's bars lead to the lists they count. Anything else is ignored. */
  function follow(el) {
    if (!el.on) { return; }
    el.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var target = point && point.customdata;
      if (typeof target === "string" && /^\/[^\/\\]/.test(target)) {
        window.location.assign(target);
      }
    });
  }

  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = escapeFigure(JSON.parse(source.textContent));
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        displayModeBar: false,
        responsive: true
      }).then(function () { follow(el); });
    });
  }

  function start() {
    if (!document.querySelector("[data-figure]")) { return; }
    if (window.Plotly) { draw(); return; }
    var me = document.querySelector("script[data-plotly]");
    if (!me) { return; }
    var bundle = document.createElement("script");
    bundle.src = me.getAttribute("data-plotly");
    bundle.addEventListener("load", draw);
    document.head.appendChild(bundle);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
