"""Parts of the stand-in cloudflared (tests/bin/cloudflared) too long to keep in the script."""
