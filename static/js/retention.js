// Lost-client pages. htmx drops 4xx answers by default; two of ours carry content to show: a form
// re-rendered with its errors (400) and a queue row that lost a claim race (409, naming the
// winner). Swap those like any other answer.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 400 || status === 409) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
