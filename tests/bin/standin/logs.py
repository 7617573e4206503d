"""Log lines as cloudflared's logger package writes them (logger/create.go createFromContext, newZerolog):
the level and format from flags, environment or config file, console or JSON lines on stderr."""

from __future__ import annotations

import json
import os
import sys
import time

from standin.tunnels import tunnel_id

# zerolog.ParseLevel (vendor/github.com/rs/zerolog/log.go): these names, case-sensitive; "" is NoLevel (6), above them all
LEVELS = {"trace": -1, "debug": 0, "info": 1, "warn": 2, "error": 3, "fatal": 4, "panic": 5, "": 6}
LEVEL_NAMES = {"DBG": "debug", "INF": "info", "WRN": "warn", "ERR": "error", "FTL": "fatal"}
CONFIG_DIRS = ("~/.cloudflared", "~/.cloudflare-warp", "~/cloudflare-warp", "/etc/cloudflared", "/usr/local/etc/cloudflared")
CONFIG_NAMES = ("config.yml", "config.yaml")
LOGGING = {"level": "info", "json": False}  # set by run() from flags, environment and config file


def log(level: str, message: str, tunnel: str | None = None) -> None:
    """A log line on stderr, if the level lets it through, in the console or the JSON format."""
    if LEVELS.get(LOGGING["level"], LEVELS["info"]) > LEVELS[LEVEL_NAMES[level]]:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if LOGGING["json"]:
        event = {"level": LEVEL_NAMES[level], "message": message, "time": stamp}
        if tunnel:
            event["tunnelID"] = tunnel_id(tunnel)
        print(json.dumps(event, sort_keys=True, separators=(",", ":")), file=sys.stderr)
        return
    suffix = f" tunnelID={tunnel_id(tunnel)}" if tunnel else ""
    print(f"{stamp} {level} {message}{suffix}", file=sys.stderr)


def config_path(tunnel_flags: dict) -> str | None:
    """The config file cloudflared reads: --config, else the first default one that exists."""
    if "config" in tunnel_flags:
        return tunnel_flags["config"]
    for folder in CONFIG_DIRS:
        for name in CONFIG_NAMES:
            path = os.path.join(os.path.expanduser(folder), name)
            if os.path.isfile(path):
                return path
    return None


def configure_logging(tunnel_flags: dict) -> None:
    """Level: flag, else environment, else config file (altsrc fills only what neither set), else info."""
    if "loglevel" in tunnel_flags:
        LOGGING["level"] = tunnel_flags["loglevel"]
    elif "TUNNEL_LOGLEVEL" in os.environ:
        LOGGING["level"] = os.environ["TUNNEL_LOGLEVEL"]
    else:
        LOGGING["level"] = str(config_settings(tunnel_flags).get("loglevel") or "info")
    output = tunnel_flags.get("output")
    for name in ("TUNNEL_MANAGEMENT_OUTPUT", "TUNNEL_LOG_OUTPUT"):
        if output is None and name in os.environ:
            output = os.environ[name]
    LOGGING["json"] = output == "json"
    if LOGGING["level"] not in LEVELS:
        wrong, LOGGING["level"] = LOGGING["level"], "info"
        log("ERR", f'Failed to parse log level "{wrong}", using "info" instead')


def config_settings(tunnel_flags: dict) -> dict:
    """The config file's top-level settings, or {} when there is none or it is not a mapping."""
    path = config_path(tunnel_flags)
    if not path or not os.path.isfile(path):
        return {}
    import yaml  # here: only runs that read a config file pay for it

    with open(path) as file:
        try:
            settings = yaml.safe_load(file)
        except yaml.YAMLError:
            return {}
    return settings if isinstance(settings, dict) else {}
