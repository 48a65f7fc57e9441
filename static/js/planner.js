// The growth planner (/planner/): one line chart of the projected base for each scenario and the
// goal's plan line, drawn with the vendored Chart.js from the json_script "planner-data" of the
// results block. htmx swaps that block in as the inputs change; the chart is drawn again after
// every swap. The model itself stays on the server.
(function () {
  "use strict";

  var COLORS = {
    main: "#24579e",
    mainSoft: "rgba(36, 87, 158, 0.08)",
    plan: "#8a94a3",
    targets: "#3b7d57",
    target: "#c58a1a",
    grid: "#edf0f4",
    saved: ["#b4544d", "#7a4fa0", "#2b8a8a", "#a0722b", "#5a6b82"],
  };
  var lang = document.documentElement.lang || "ru";
  var integer = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  var monthName = new Intl.DateTimeFormat(lang, { month: "short", year: "numeric" });
  var chart = null;

  function label(iso) {
    var parts = iso.split("-");
    return monthName.format(new Date(Number(parts[0]), Number(parts[1]) - 1, 1));
  }

  function dataset(line, index) {
    var color = COLORS[line.key] || COLORS.saved[(index - 3) % COLORS.saved.length];
    var set = {
      label: line.label,
      data: line.values,
      borderColor: color,
      backgroundColor: color,
      borderWidth: line.key === "main" ? 2.5 : 1.5,
      pointRadius: 0,
      pointHoverRadius: 4,
      tension: 0.2,
      spanGaps: false,
    };
    if (line.key === "main") {
      set.fill = true;
      set.backgroundColor = COLORS.mainSoft;
    }
    if (line.key === "plan") set.borderDash = [6, 4];
    return set;
  }

  function draw() {
    var canvas = document.querySelector('canvas[data-chart="planner"]');
    var source = document.getElementById("planner-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var d = JSON.parse(source.textContent);
    var datasets = d.lines
      .filter(function (line) {
        return line.values.some(function (v) {
          return v !== null;
        });
      })
      .map(dataset);
    datasets.push({
      label: d.target_label || String(d.target),
      data: d.months.map(function () {
        return d.target;
      }),
      borderColor: COLORS.target,
      borderDash: [3, 3],
      borderWidth: 1,
      pointRadius: 0,
    });
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: d.months.map(label), datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 10, padding: 14 } },
          tooltip: {
            callbacks: {
              label: function (item) {
                if (item.raw === null || item.raw === undefined) return null;
                return " " + item.dataset.label + ": " + integer.format(item.raw);
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } },
          y: {
            beginAtZero: false,
            grid: { color: COLORS.grid },
            ticks: {
              precision: 0,
              callback: function (value) {
                return integer.format(value);
              },
            },
          },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // An outerHTML swap replaces the canvas: draw on the new one.
  document.addEventListener("htmx:afterSettle", draw);
})();
