"""The documents the endpoints publish: RFC 8414 authorization-server metadata, the OpenID discovery
document a resource server's ``oidc_discovery`` reads, and the JWKS. No call here waits."""

from __future__ import annotations

from typing import Any

from ..issuing.publish import DISCOVERY_PATH, JWKS_PATH
from .messages import Response, json_answer
from .service import Service

__all__ = ["METADATA_PATH", "discovery", "document", "jwks", "metadata"]
METADATA_PATH = "/.well-known/oauth-authorization-server"


def metadata(endpoints: Service) -> dict[str, Any]:
    """RFC 8414 authorization-server metadata.

    Args:
        endpoints: the configured endpoints.
    """
    base = f"{endpoints.base_url}{endpoints.base_path}"
    return {
        "issuer": endpoints.tokens.issuer.issuer,
        "token_endpoint": f"{base}/token",
        "revocation_endpoint": f"{base}/revoke",
        "jwks_uri": f"{endpoints.base_url}{JWKS_PATH}",
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": [],
        "dpop_signing_alg_values_supported": sorted(endpoints.dpop.algorithms),
    }


def discovery(endpoints: Service) -> dict[str, Any]:
    """The OpenID discovery document a resource server's ``oidc_discovery`` reads.

    Args:
        endpoints: the configured endpoints.
    """
    algs = sorted({k.alg for k in endpoints.tokens.issuer.ring.signing_keys() if not k.symmetric})
    return {
        "issuer": endpoints.tokens.issuer.issuer,
        "jwks_uri": f"{endpoints.base_url}{JWKS_PATH}",
        "id_token_signing_alg_values_supported": algs,
    }


def jwks(endpoints: Service) -> dict[str, Any]:
    """The public keys: the current one and the retired ones still kept.

    Args:
        endpoints: the configured endpoints.
    """
    return endpoints.tokens.issuer.ring.jwks()


def document(endpoints: Service, path: str) -> Response | None:
    """The document served at ``path`` (cacheable for five minutes), or ``None`` when none is.

    Args:
        endpoints: the configured endpoints.
        path: the request's path below the mount, without a trailing ``/``.
    """
    builder = {METADATA_PATH: metadata, DISCOVERY_PATH: discovery, JWKS_PATH: jwks}.get(path)
    if builder is None:
        return None
    return json_answer(200, builder(endpoints), ("cache-control", "public, max-age=300"))
