"""Absolute URLs of this site, and which ``Host`` headers it answers.

Links that leave the page (QR codes, share links, embed snippets, oEmbed, API links) are
built under the configured public URL (``LOCATOR_PUBLIC_URL``); without one, under the
address the request came to, whose host must then be one the site answers
(``LOCATOR_ALLOWED_HOSTS``, else the public URL's host, else this machine's own names),
so a forged ``Host`` header is refused and never ends up in a link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

from ..config import Settings
from . import state

#: The names a site with neither a public URL nor allowed hosts answers to.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


def trusted_hosts(settings: Settings) -> list[str] | None:
    """Werkzeug's ``trusted_hosts`` for the settings; None answers any host (``*``)."""
    listed = [h.strip().lower() for h in settings.allowed_hosts.replace(",", " ").split()]
    if "*" in listed:
        return None
    hosts = list(listed)
    public = urlsplit(settings.public_url.strip()).hostname
    if public and not listed:
        hosts.append(public.lower())
    return [*hosts, *LOOPBACK_HOSTS] if not listed else hosts


def site_url() -> str:
    """The site's public root without a trailing slash (``public_url`` when set)."""
    public = state().settings.public_url.strip()
    return public.rstrip("/") if public else request.url_root.rstrip("/")


def absolute(path: str) -> str:
    """The absolute URL of a path made by ``url_for`` (which starts with the script root)."""
    return site_url() + path[len(request.script_root) :]


def has_public_url() -> bool:
    """Whether links are made under a configured public URL (posters need one)."""
    return bool(state().settings.public_url.strip())
