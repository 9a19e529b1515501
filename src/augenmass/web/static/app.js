// Small helpers for every page; no inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      var box = document.getElementById("search-results");
      if (box) { box.textContent = ""; }
    }
  });
  // A session that ended (401 on a refresh) sends the dashboard back to the login page.
  document.addEventListener("htmx:responseError", function (e) {
    if (e.detail && e.detail.xhr && e.detail.xhr.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
    }
  });
})();
