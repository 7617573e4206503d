"""The stand-in Cloudflare API the tests drive norn against."""

from tests.cfapi.server import CloudflareAPI, Permissions, RequestRecord

__all__ = ["CloudflareAPI", "Permissions", "RequestRecord"]
