"""Every page and API endpoint that shows or changes one workspace's data."""

from __future__ import annotations

# (method, url template, form data) for every page that shows or changes a workspace's data.
PAGES = [
    ("get", "/workspaces/{w}/", {}),
    ("post", "/workspaces/{w}/", {"name": "Sneaky", "language": "en"}),
    ("get", "/workspaces/{w}/settings/", {}),
    ("post", "/workspaces/{w}/settings/", {"name": "Renamed"}),
    ("post", "/workspaces/{w}/delete/", {"confirm_name": "Rival corp"}),
    ("get", "/workspaces/{w}/members/", {}),
    ("post", "/workspaces/{w}/members/", {"user": "olivia", "role": "owner"}),
    ("post", "/workspaces/{w}/members/{m}/", {"role": "viewer"}),
    ("post", "/workspaces/{w}/members/{m}/", {"action": "remove"}),
    ("get", "/assistants/{a}/", {}),
    ("get", "/assistants/{a}/edit/", {}),
    ("post", "/assistants/{a}/edit/", {"name": "Renamed", "language": "en"}),
    ("get", "/assistants/{a}/delete/", {}),
    ("post", "/assistants/{a}/delete/", {}),
]

API = [
    ("get", "/api/workspaces/{w}/", None),
    ("patch", "/api/workspaces/{w}/", {"name": "Renamed"}),
    ("put", "/api/workspaces/{w}/", {"name": "Renamed"}),
    ("delete", "/api/workspaces/{w}/", None),
    ("get", "/api/workspaces/{w}/members/", None),
    ("post", "/api/workspaces/{w}/members/", {"user": "olivia", "role": "owner"}),
    ("get", "/api/workspaces/{w}/members/{m}/", None),
    ("patch", "/api/workspaces/{w}/members/{m}/", {"role": "viewer"}),
    ("delete", "/api/workspaces/{w}/members/{m}/", None),
    ("get", "/api/assistants/{a}/", None),
    ("patch", "/api/assistants/{a}/", {"name": "Renamed"}),
    ("put", "/api/assistants/{a}/", {"name": "Renamed", "language": "en"}),
    ("delete", "/api/assistants/{a}/", None),
]
