"""Logins by OAuth 2.0 (X, WordPress.com): the browser flow and the tokens it leaves behind.

- ``oauth2``: providers, the authorize URL with PKCE, the redirect listener, the token endpoint.
- ``tokens``: the token file in the state folder and the manager that keeps a token valid.
"""
