// Filter panels (templates/_macros/filters.html): closed on narrow screens, so that the first results are
// seen without scrolling past every facet; always open on wide ones, where the toggle is hidden.
(function () {
  var narrow = window.matchMedia("(max-width: 55.99rem)");
  function apply() {
    document.querySelectorAll("details.filters-panel").forEach(function (panel) {
      panel.open = !narrow.matches;
    });
  }
  apply();
  narrow.addEventListener("change", apply);
})();
