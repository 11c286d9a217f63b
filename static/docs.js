// Swagger UI on /docs. A logged-in person's "Try it out" goes with the session
// cookie; the hub refuses a cookie-authenticated write without the session's
// CSRF token, so every write to this hub carries it in X-CSRF-Token (the token
// is in the page's <meta name="csrf-token"> only for a logged-in visitor).
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var safe = { GET: true, HEAD: true, OPTIONS: true };
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#ui",
    deepLinking: true,
    persistAuthorization: true,
    requestInterceptor: function (req) {
      var sameOrigin = new URL(req.url, location.href).origin === location.origin;
      if (csrf && sameOrigin && !safe[String(req.method || "GET").toUpperCase()]) {
        req.headers["X-CSRF-Token"] = csrf;
      }
      return req;
    },
  });
})();
