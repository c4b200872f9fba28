"""The interactive OpenAPI page, from files shipped in the package: no CDN, nothing inline (the CSP forbids both)."""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

# Relative links, so the page also works when a reverse proxy serves the app under a path of its own.
_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — OpenAPI</title>
  <link rel="stylesheet" href="../../static/vendor/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi="openapi.json"></div>
  <script src="../../static/vendor/swagger-ui-bundle.js"></script>
  <script src="../../static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI, prefix: str) -> None:
    """Serve the docs at PREFIX/docs for the schema at PREFIX/openapi.json (the app is built with docs_url=None)."""
    page = _PAGE.format(title=app.title)

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return HTMLResponse(page)
