"""The interactive API docs work without the internet: the page's script and styles come from the server."""

from __future__ import annotations

import httpx


def test_the_docs_page_and_its_assets_are_served_by_the_server_itself(api_server):
    page = httpx.get(f"{api_server.url}/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "/static-offline-docs/swagger-ui-bundle.js" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = httpx.get(f"{api_server.url}/static-offline-docs/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    schema = httpx.get(f"{api_server.url}/openapi.json").json()
    assert "/api/v1/complaints/{ref}/resolve" in schema["paths"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
