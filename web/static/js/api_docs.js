// The API documentation (/docs): Swagger UI from the npm package swagger-ui-dist (web/package.json,
// pinned version, served under /vendor), started from this file since the CSP forbids inline scripts.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
