// The dashboard (/dashboard/): charts drawn with the vendored Chart.js from the data the page embeds
// (json_script "dashboard-data"), and the month and reason tables sorted by a click on a column
// header. The group and manager tables are sorted and paged by the server: their header and page
// links swap the table in with htmx, and are plain links without JavaScript.
(function () {
  "use strict";

  var COLORS = {
    accent: "#24579e",
    accentSoft: "rgba(36, 87, 158, 0.10)",
    plan: "#8a94a3",
    controllable: "#b4544d",
    natural: "#aab4c1",
    referrals: "#3b7d57",
    returns: "#2b5f8a",
    returnsSoft: "rgba(43, 95, 138, 0.35)",
    target: "#c58a1a",
    grid: "#edf0f4",
    ink: "#4a5566",
  };

  var lang = document.documentElement.lang || "ru";
  var integer = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  var decimal = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

  function flat(value, length) {
    var values = [];
    for (var i = 0; i < length; i += 1) values.push(value);
    return values;
  }

  function options(extra) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          position: "bottom",
          labels: { usePointStyle: true, boxWidth: 10, boxHeight: 10, padding: 16 },
        },
        tooltip: {
          callbacks: {
            label: function (item) {
              if (item.raw === null || item.raw === undefined) return null;
              var format = extra.percent ? decimal.format(item.raw) + " %" : integer.format(item.raw);
              return " " + item.dataset.label + ": " + format;
            },
          },
        },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } },
        y: {
          beginAtZero: extra.beginAtZero !== false,
          stacked: Boolean(extra.stacked),
          grid: { color: COLORS.grid },
          ticks: {
            precision: extra.percent ? undefined : 0,
            callback: function (value) {
              return extra.percent ? decimal.format(value) + " %" : integer.format(value);
            },
          },
        },
      },
    };
    if (extra.stacked) base.scales.x.stacked = true;
    return base;
  }

  function line(label, data, color, more) {
    var dataset = {
      type: "line",
      label: label,
      data: data,
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      pointRadius: 0,
      pointHoverRadius: 4,
      tension: 0.2,
      cubicInterpolationMode: "monotone", // no overshoot below 0 % or above the real figures
    };
    return Object.assign(dataset, more || {});
  }

  // A series without a single figure (no goal: no plan line) stays out of the chart and its legend.
  function hasValues(dataset) {
    return dataset.data.some(function (value) {
      return value !== null && value !== undefined;
    });
  }

  function bars(label, data, color) {
    return { type: "bar", label: label, data: data, backgroundColor: color, pointStyle: "rect", stack: "bars" };
  }

  function target(label, value, length) {
    return line(label, flat(value, length), COLORS.target, {
      borderDash: [5, 4],
      borderWidth: 1.5,
      pointStyle: "line",
    });
  }

  var CHARTS = {
    base: function (d) {
      // The plan runs a few months past the latest figures (d.ahead), where the base is still empty.
      var ahead = d.ahead || { labels: [], plan: [] };
      return {
        type: "line",
        data: {
          labels: d.labels.concat(ahead.labels),
          datasets: [
            line(d.text.base, d.base.concat(flat(null, ahead.labels.length)), COLORS.accent, {
              fill: true,
              backgroundColor: COLORS.accentSoft,
              pointRadius: 2,
              pointStyle: "circle",
            }),
            line(d.text.plan, d.plan.concat(ahead.plan), COLORS.plan, {
              borderDash: [6, 4],
              tension: 0,
              pointStyle: "line",
            }),
          ].filter(hasValues),
        },
        options: options({ beginAtZero: false }),
      };
    },
    churn: function (d) {
      return {
        type: "bar",
        data: {
          labels: d.labels,
          datasets: [
            bars(d.text.churn_controllable, d.churn_controllable, COLORS.controllable),
            bars(d.text.churn_natural, d.churn_natural, COLORS.natural),
          ],
        },
        options: options({ stacked: true }),
      };
    },
    referrals: function (d) {
      var datasets = [bars(d.text.referrals, d.referrals, COLORS.referrals)];
      if (d.show_targets) datasets.push(target(d.text.referrals_target, d.targets.referrals, d.labels.length));
      return { type: "bar", data: { labels: d.labels, datasets: datasets }, options: options({}) };
    },
    returns: function (d) {
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: [
            line(d.text.return_rate_12m, d.return_rate_12m, COLORS.returns),
            line(d.text.return_rate, d.return_rate, COLORS.returnsSoft, {
              showLine: false,
              pointRadius: 3,
              pointStyle: "circle",
            }),
            target(d.text.return_target, d.targets.return_rate, d.labels.length),
          ],
        },
        options: options({ percent: true }),
      };
    },
    mrr: function (d) {
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: [
            line(d.text.mrr, d.mrr, COLORS.accent, {
              fill: true,
              backgroundColor: COLORS.accentSoft,
              pointStyle: "circle",
            }),
          ],
        },
        options: options({ beginAtZero: false }),
      };
    },
  };

  function drawCharts() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = COLORS.ink;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = CHARTS[canvas.dataset.chart];
      if (!build) return;
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      new Chart(canvas, build(data));
    });
  }

  // --- sortable tables ----------------------------------------------------------------------

  function cellValue(row, index, kind) {
    var cell = row.cells[index];
    if (!cell) return null;
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    raw = raw.trim();
    if (raw === "" || raw === "None") return null;
    if (kind === "num") {
      var number = parseFloat(raw.replace(",", "."));
      return isNaN(number) ? null : number;
    }
    return raw.toLocaleLowerCase(lang);
  }

  function sortTable(table, header, index, kind) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) {
      return !row.querySelector("td.empty");
    });
    if (rows.length < 2) return;
    var current = header.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending" : kind !== "num";
    var direction = ascending ? 1 : -1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, kind);
      var y = cellValue(b, index, kind);
      if (x === y) return 0;
      if (x === null) return 1; // empty cells last, whatever the direction
      if (y === null) return -1;
      if (kind === "num") return (x - y) * direction;
      return x.localeCompare(y, lang) * direction;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
    table.querySelectorAll("th[aria-sort]").forEach(function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (header, index) {
      var kind = header.getAttribute("data-sort");
      if (!kind) return;
      // A page restored from the htmx history already has its buttons, without their listeners.
      var button = header.querySelector("button.sort-button");
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "sort-button";
        while (header.firstChild) button.appendChild(header.firstChild);
        header.appendChild(button);
      }
      button.addEventListener("click", function () {
        sortTable(table, header, index, kind);
      });
    });
  }

  function start() {
    drawCharts();
    document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  }

  // Back or forward after a table link: htmx puts the saved page back, with blank canvases.
  document.addEventListener("htmx:historyRestore", start);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
