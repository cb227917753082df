// Control Center: small helpers, no inline scripts (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var base = document.querySelector('meta[name="base-path"]');
  // fetch() for the API with the page's session: the CSRF token goes in a header.
  window.lightmeter = {
    base: base ? base.content : "",
    api: function (path, options) {
      options = options || {};
      options.headers = Object.assign({ "X-CSRF-Token": meta ? meta.content : "" }, options.headers || {});
      options.credentials = "same-origin";
      return fetch(this.base + path, options);
    }
  };
  // Ask before revoking tokens and deleting users.
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button.danger");
    if (button && !window.confirm(button.textContent.trim() + "?")) { e.preventDefault(); }
  });
})();
