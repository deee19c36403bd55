"""The one exception the renderer raises for problems the document's author can fix."""

from __future__ import annotations


class RenderError(Exception):
    """Rendering stopped; the message names the file, the 1-based line and what went wrong."""
