"""RFC 9728 protected-resource metadata: where it is served, and the document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import ConfigError
from . import validate as check

__all__ = ["WELL_KNOWN", "ResourceMetadata", "resource_metadata"]
WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """The protected-resource metadata document and where it lives; built by ``Settings``.

    Args:
        path: the request path the middleware answers (RFC 9728 §3.1: the well-known
            prefix, then the resource identifier's path).
        url: the document's absolute URL, named in every challenge's ``resource_metadata``.
        document: the JSON document.
    """

    path: str
    url: str
    document: Mapping[str, Any]

    def body(self) -> bytes:
        """The document as sent."""
        return json.dumps(self.document, separators=(",", ":")).encode()


def resource_metadata(value: Any, *, dpop_algs: list[str], dpop_required: bool, allow_http: bool) -> ResourceMetadata | None:
    """Validate ``resource_metadata`` (a mapping with ``resource``) and complete the document.

    What the middleware knows is filled in unless the mapping sets it: the bearer methods
    (``header``), ``dpop_signing_alg_values_supported`` and ``dpop_bound_access_tokens_required``.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError("resource_metadata", "expected a mapping of metadata (RFC 9728 §2), with resource")
    resource = check.url("resource_metadata.resource", value.get("resource"), allow_http)
    parts = urlsplit(resource)
    if parts.query or parts.fragment:
        raise ConfigError("resource_metadata.resource", "a resource identifier has no query or fragment (RFC 9728 §1.2)")
    servers = value.get("authorization_servers")
    if servers is not None:
        for server in check.strings("resource_metadata.authorization_servers", servers, single_ok=False):
            check.url("resource_metadata.authorization_servers", server, allow_http)
    try:
        json.dumps(dict(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError("resource_metadata", "every value must be JSON (strings, numbers, lists, mappings)") from exc
    document = {
        "resource": resource,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": dpop_algs,
        "dpop_bound_access_tokens_required": dpop_required,
        **value,
    }
    suffix = parts.path.rstrip("/")
    path = WELL_KNOWN + suffix
    return ResourceMetadata(path, f"{parts.scheme}://{parts.netloc}{path}", document)
