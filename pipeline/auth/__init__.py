"""Logins by OAuth 2.0 (X, WordPress.com): the browser flow and the tokens it leaves behind.

- ``oauth2``: providers, the authorize URL with PKCE, the redirect listener, the token endpoint.
- ``tokens``: the token file in the state folder and the manager that keeps a token valid.
"""

from __future__ import annotations

from pathlib import Path


def token_file(state_dir: Path, name: str) -> Path:
    """Where the tokens of ``name``'s login are kept (a listing asks whether there is one
    without the modules that read and renew them)."""
    return state_dir / "tokens" / f"{name}.json"
