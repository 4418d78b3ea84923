"""The browser UI: one Jinja2 page; its scripts and styles are built into app/static/dist."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
STATIC_DIR = PACKAGE_DIR / "static"

router = APIRouter(tags=["ui"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    """The chainlens page: editor, graph, stepper and inspector."""
    built = (STATIC_DIR / "dist" / "app.js").is_file()
    return TEMPLATES.TemplateResponse(request, "index.html", {"assets_built": built})
