// Starts Swagger UI for the page's schema (data-openapi on <body>). Verity's own file: the page has no
// inline script, so it runs under Verity's Content-Security-Policy (script-src 'self').
(function () {
  "use strict";
  var body = document.body;
  var schema = body.getAttribute("data-openapi");
  var admin = body.getAttribute("data-admin") === "true";
  var options = {
    url: schema,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  };
  if (admin) {
    // The admin schema is served only to the admin key: ask for it when the page opens, keep it in
    // this page's memory only (never in storage), and send it as a bearer token with every request
    // the page makes (the schema and "Try it out").
    var key = window.prompt("Verity admin key (VERITY_ADMIN_KEY)") || "";
    options.requestInterceptor = function (request) {
      request.headers.Authorization = "Bearer " + key;
      return request;
    };
  }
  window.ui = SwaggerUIBundle(options);
})();
