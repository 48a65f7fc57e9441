// Asks before an irreversible action. A form marked data-confirm="<question>" (optionally
// data-confirm-action="<button label>") opens the page's confirmation <dialog> instead of being
// sent; confirming sends it with confirmed=1, cancelling (the button, Esc or a click outside)
// sends nothing. Plain and htmx forms alike: the submit event is caught before htmx sees it, and
// the confirmed form is submitted again through the same path. Without JavaScript the server asks
// on a second page instead (core/confirm.py).
(function () {
  "use strict";

  var CONFIRMED = "confirmed";

  function confirmedField(form) {
    return form.querySelector('input[type="hidden"][name="' + CONFIRMED + '"][value="1"]');
  }

  function sendConfirmed(form, submitter) {
    var flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = CONFIRMED;
    flag.value = "1";
    form.appendChild(flag);
    try {
      if (typeof form.requestSubmit === "function") {
        // Fires submit again (this time let through), so htmx sends the form as it would have.
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      } else {
        form.submit();
      }
    } finally {
      // Both a browser's and htmx's submission read the fields synchronously: the next submit of
      // a form still on the page asks again.
      flag.remove();
    }
  }

  function setUp(dialog) {
    var question = dialog.querySelector("#confirm-dialog-question");
    var submit = dialog.querySelector("[data-confirm-submit]");
    var cancel = dialog.querySelector("[data-confirm-cancel]");
    var pending = null;

    function ask(form, submitter) {
      pending = { form: form, submitter: submitter };
      question.textContent = form.getAttribute("data-confirm");
      submit.textContent =
        form.getAttribute("data-confirm-action") || submit.getAttribute("data-default-label");
      dialog.returnValue = "";
      dialog.showModal();
      // The safe answer has the focus: Enter right after the click does not act.
      cancel.focus();
    }

    submit.addEventListener("click", function () {
      dialog.close("confirm");
    });
    cancel.addEventListener("click", function () {
      dialog.close("cancel");
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close("cancel"); // a click on the backdrop
      }
    });
    // Esc closes a modal dialog natively, with an empty returnValue: nothing is sent.
    dialog.addEventListener("close", function () {
      var asked = pending;
      pending = null;
      if (!asked) {
        return;
      }
      if (dialog.returnValue === "confirm" && asked.form.isConnected) {
        sendConfirmed(asked.form, asked.submitter);
      } else if (asked.submitter && asked.submitter.isConnected) {
        asked.submitter.focus();
      }
    });

    // Capturing on the document runs before the form's own listeners (htmx's among them).
    document.addEventListener(
      "submit",
      function (event) {
        var form = event.target;
        if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) {
          return;
        }
        if (confirmedField(form)) {
          return;
        }
        event.preventDefault();
        event.stopPropagation();
        if (!dialog.open) {
          ask(form, event.submitter || null);
        }
      },
      true
    );
  }

  function start() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog && typeof dialog.showModal === "function") {
      setUp(dialog);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
