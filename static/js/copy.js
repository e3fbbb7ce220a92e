// "Copy link" buttons (templates/search/saved/_list.html): shown only where the clipboard can be written; without
// JavaScript the link stays in its read-only field, to be selected and copied by hand.
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        button.firstChild.textContent = button.dataset.copied;
      });
    });
  });
})();
