// Starts Swagger UI on /docs over the API's OpenAPI document (a file of its own: the
// pages' Content-Security-Policy allows no inline script).
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });
