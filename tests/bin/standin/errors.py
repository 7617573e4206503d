"""How the stand-in's ingress validation fails, in cloudflared's two ways."""

from __future__ import annotations


class ConfigError(Exception):
    """The file could not be decoded (cloudflared: "error parsing YAML in config file at PATH: ...")."""


class IngressError(Exception):
    """ParseIngress refused the rules (cloudflared: "Validation failed: ...")."""
