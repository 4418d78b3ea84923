"""The browser UI: one Jinja2 page (templates/); its scripts and styles are built into static/dist/."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _ui_root() -> Path:
    """The folder holding templates/ and static/: inside the package when installed from a wheel
    (which carries them as app/templates and app/static), else the checkout's top level."""
    if (PACKAGE_DIR / "templates" / "index.html").is_file():
        return PACKAGE_DIR
    return PACKAGE_DIR.parent


UI_ROOT = _ui_root()
TEMPLATES_DIR = UI_ROOT / "templates"
STATIC_DIR = UI_ROOT / "static"
TEMPLATES = Jinja2Templates(directory=str(TEMPLATES_DIR))

router = APIRouter(tags=["ui"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    """The chainlens page: editor, graph, stepper and inspector."""
    built = (STATIC_DIR / "dist" / "app.js").is_file()
    return TEMPLATES.TemplateResponse(request, "index.html", {"assets_built": built, "version": __version__})
