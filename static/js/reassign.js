// Reassigning clients: "select all on this page" on the client list, and the question the
// confirmation dialog asks (confirm.js reads the form's data-confirm when it is sent).
//
// A form with data-confirm-template="…{count}…{target}…{summary}…" gets data-confirm rewritten
// whenever one of its fields changes: {count} is the number of its ticked rows (checkboxes marked
// data-select-row, which may sit outside the form and join it through their form attribute),
// {target} the chosen option of its select marked data-confirm-target, {summary} how many of the
// handover's clients go to whom (selects marked data-handover-choice; an empty choice follows the
// select marked data-handover-default, an empty one there means "spread", named by the form's
// data-spread-label). Without JavaScript none of this runs: the server counts and asks instead.
(function () {
  "use strict";

  function personName(select) {
    var option = select.options[select.selectedIndex];
    // Options read "Name — 78 of 150 clients": the question names the person only.
    return option ? option.text.split(" — ")[0] : "";
  }

  function fieldsOf(form, selector) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.matches(selector);
    });
  }

  function summary(form) {
    var fallback = form.querySelector("[data-handover-default]");
    var spread = form.getAttribute("data-spread-label") || "";
    var counts = {};
    var order = [];
    fieldsOf(form, "[data-handover-choice]").forEach(function (select) {
      var chosen = select.value ? select : fallback;
      var name = chosen && chosen.value ? personName(chosen) : spread;
      if (!(name in counts)) {
        counts[name] = 0;
        order.push(name);
      }
      counts[name] += 1;
    });
    return order
      .map(function (name) {
        return name + ": " + counts[name];
      })
      .join(", ");
  }

  function updateQuestion(form) {
    var template = form.getAttribute("data-confirm-template");
    if (!template) {
      return;
    }
    var target = form.querySelector("[data-confirm-target]");
    var rows = fieldsOf(form, "[data-select-row]").filter(function (row) {
      return row.checked;
    });
    form.setAttribute(
      "data-confirm",
      template
        .replace("{count}", String(rows.length))
        .replace("{target}", target ? personName(target) : "")
        .replace("{summary}", summary(form))
    );
  }

  function syncSelectAll(form) {
    var all = fieldsOf(form, "[data-select-all]")[0];
    var rows = fieldsOf(form, "[data-select-row]");
    if (!all || !rows.length) {
      return;
    }
    var ticked = rows.filter(function (row) {
      return row.checked;
    }).length;
    all.checked = ticked === rows.length;
    all.indeterminate = ticked > 0 && ticked < rows.length;
  }

  function onChange(event) {
    var field = event.target;
    var form = field && field.form;
    if (!form || !form.hasAttribute("data-confirm-template")) {
      return;
    }
    if (field.matches("[data-select-all]")) {
      fieldsOf(form, "[data-select-row]").forEach(function (row) {
        row.checked = field.checked;
      });
    } else if (field.matches("[data-select-row]")) {
      syncSelectAll(form);
    }
    updateQuestion(form);
  }

  function start() {
    document.querySelectorAll("form[data-confirm-template]").forEach(function (form) {
      syncSelectAll(form);
      updateQuestion(form);
    });
  }

  document.addEventListener("change", onChange);
  // The client list's rows and form come back from htmx when a filter changes.
  document.addEventListener("htmx:afterSettle", start);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
