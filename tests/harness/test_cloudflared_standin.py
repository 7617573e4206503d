"""The stand-in cloudflared answers as cloudflared 2025.8 does, found on PATH like the real one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.unit.cloudflared_rules import ROWS, service

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def cloudflared(*args: str, timeout: float = 10, **env: str) -> subprocess.CompletedProcess:
    """Run whatever ``cloudflared`` is first on PATH, as norn does: an argv list, no shell."""
    return subprocess.run(
        ["cloudflared", *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )


def route(hostname: str, tunnel: str = "norn", *flags: str, **env: str) -> subprocess.CompletedProcess:
    return cloudflared("tunnel", "route", "dns", *flags, tunnel, hostname, **env)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A HOME of the test's own: no ~/.cloudflared/config.yml of the machine's user changes the answers."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("TUNNEL_LOGLEVEL", "TUNNEL_LOG_OUTPUT", "TUNNEL_MANAGEMENT_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_the_fixture_puts_the_standin_first_on_path(cloudflared_bin):
    assert shutil.which("cloudflared") == str(cloudflared_bin.executable)


@pytest.mark.parametrize("args", [["--version"], ["version"]])
def test_version(cloudflared_bin, args):
    done = cloudflared(*args)
    assert (done.returncode, done.stdout) == (0, "cloudflared version 2025.8.1 (built 2025-08-20-1200 UTC)\n")


def test_a_new_route_is_added_and_logged_to_stderr(cloudflared_bin):
    done = route("app.example.com")

    assert done.returncode == 0 and done.stdout == ""
    assert re.fullmatch(
        rf"{STAMP} INF Added CNAME app\.example\.com which will route to this tunnel tunnelID={UUID}\n", done.stderr
    )
    assert cloudflared_bin.routes() == {"app.example.com": "norn"}
    assert cloudflared_bin.calls() == [["tunnel", "route", "dns", "norn", "app.example.com"]]


def test_routing_again_to_the_same_tunnel_says_already_configured(cloudflared_bin):
    cloudflared_bin.add_route("app.example.com", "norn")

    done = route("app.example.com")

    assert done.returncode == 0
    assert re.fullmatch(
        rf"{STAMP} INF app\.example\.com is already configured to route to your tunnel tunnelID={UUID}\n", done.stderr
    )


def test_a_hostname_routed_elsewhere_fails_with_code_1003(cloudflared_bin):
    cloudflared_bin.add_route("app.example.com", "someone-else")

    done = route("app.example.com")

    assert done.returncode == 1
    assert done.stderr.startswith(
        "Failed to add route: code: 1003, reason: Failed to create record app.example.com with err "
        "An A, AAAA, or CNAME record with that host already exists."
    )
    assert cloudflared_bin.routes() == {"app.example.com": "someone-else"}


@pytest.mark.parametrize("flag", ["--overwrite-dns", "-f"])
def test_overwrite_dns_before_the_tunnel_takes_the_hostname_over(cloudflared_bin, flag):
    cloudflared_bin.add_route("app.example.com", "someone-else")

    done = route("app.example.com", "norn", flag)

    assert done.returncode == 0 and "Added CNAME app.example.com" in done.stderr
    assert cloudflared_bin.routes() == {"app.example.com": "norn"}


@pytest.mark.parametrize(
    "args",
    [
        ["tunnel", "route", "dns", "norn"],
        ["tunnel", "route", "dns", "norn", "app.example.com", "--overwrite-dns"],  # flags after arguments are arguments
    ],
)
def test_a_wrong_argument_count_is_a_usage_error_exiting_255(cloudflared_bin, args):
    done = cloudflared(*args)

    assert done.returncode == 255
    assert done.stderr.startswith(
        'This command expects the format "cloudflared tunnel route dns <tunnel name/id> <hostname>"'
    )
    assert cloudflared_bin.routes() == {}


def test_an_unknown_flag_is_incorrect_usage_yet_exits_0(cloudflared_bin):
    done = route("app.example.com", "norn", "--overwrite")

    assert done.returncode == 0
    assert done.stdout.startswith("Incorrect Usage: flag provided but not defined: -overwrite\n\nNAME:\n")
    assert "USAGE:\n   cloudflared tunnel route dns [TUNNEL] [HOSTNAME]" in done.stdout
    assert cloudflared_bin.routes() == {}


def test_global_flags_before_the_subcommands_are_accepted(cloudflared_bin):
    done = cloudflared(
        "--no-autoupdate",
        "tunnel",
        "--config",
        "/etc/cloudflared/config.yaml",
        "route",
        "dns",
        "norn",
        "app.example.com",
    )
    assert done.returncode == 0 and cloudflared_bin.routes() == {"app.example.com": "norn"}


def test_mode_exists_elsewhere(cloudflared_bin):
    cloudflared_bin.set_mode("exists-elsewhere")
    done = route("app.example.com")
    assert done.returncode == 1 and "code: 1003" in done.stderr


def test_mode_fail(cloudflared_bin):
    cloudflared_bin.set_mode("fail")
    done = route("app.example.com")
    assert (
        done.returncode == 1 and done.stderr == "API call to add route failed with status 500: Internal Server Error\n"
    )


def test_mode_hang_runs_into_the_callers_timeout(cloudflared_bin):
    cloudflared_bin.set_mode("hang")
    with pytest.raises(subprocess.TimeoutExpired):
        route("app.example.com", timeout=0.5)
    assert cloudflared_bin.calls() == [["tunnel", "route", "dns", "norn", "app.example.com"]]


def test_mode_other_zone_routes_the_wrong_name_and_still_exits_0(cloudflared_bin):
    cloudflared_bin.set_mode("other-zone")
    done = route("app.example.com")
    assert done.returncode == 0 and "Added CNAME app.example.com.example.com which will route" in done.stderr
    assert cloudflared_bin.routes() == {"app.example.com.example.com": "norn"}


def test_mode_no_cert(cloudflared_bin):
    cloudflared_bin.set_mode("no-cert")
    done = route("app.example.com")
    assert done.returncode == 1 and "No file cert.pem" in done.stderr


def test_the_mode_variable_overrides_the_state(cloudflared_bin):
    cloudflared_bin.set_mode("fail")
    done = route("app.example.com", CLOUDFLARED_STANDIN_MODE="ok")
    assert done.returncode == 0


def test_state_is_created_on_first_run(cloudflared_bin):
    cloudflared("--version")
    assert cloudflared_bin.state_path.exists() and cloudflared_bin.routes() == {}


def test_ingress_validate_reads_the_config_flag_of_tunnel(cloudflared_bin, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("ingress:\n  - service: http_status:404\n")
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    assert (done.returncode, done.stdout) == (0, f"Validating rules from {config}\nOK\n")
    assert cloudflared_bin.validated() == ["ingress:\n  - service: http_status:404\n"]


def test_ingress_validate_with_config_after_validate_is_incorrect_usage(cloudflared_bin, tmp_path):
    done = cloudflared("tunnel", "ingress", "validate", "--config", str(tmp_path / "config.yaml"))
    assert done.returncode == 0 and done.stdout.startswith("Incorrect Usage: flag provided but not defined: -config")
    assert cloudflared_bin.validated() == []


def test_ingress_validate_without_a_config_file_fails(cloudflared_bin, tmp_path):
    done = cloudflared("tunnel", "--config", str(tmp_path / "missing.yaml"), "ingress", "validate")
    assert done.returncode == 1 and "No configuration file was found" in done.stderr


def test_mode_reject_ingress(cloudflared_bin, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("ingress: []\n")
    cloudflared_bin.set_mode("reject-ingress")
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    assert done.returncode == 1 and done.stderr.startswith("Validation failed: ")
    assert cloudflared_bin.validated() == ["ingress: []\n"]


def test_tunnel_info_prints_the_tunnels_id_as_json(cloudflared_bin):
    done = cloudflared("tunnel", "info", "--output", "json", "norn")
    info = json.loads(done.stdout)
    assert done.returncode == 0 and info["name"] == "norn" and re.fullmatch(UUID, info["id"])
    routed = route("app.example.com")  # the id route dns logs for the same tunnel
    assert f"tunnelID={info['id']}" in routed.stderr


def test_tunnel_info_of_a_uuid_is_that_uuid(cloudflared_bin):
    tunnel = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
    assert json.loads(cloudflared("tunnel", "info", "-o", "json", tunnel).stdout)["id"] == tunnel


def test_tunnel_info_without_output_says_there_is_no_connection(cloudflared_bin):
    done = cloudflared("tunnel", "info", "norn")
    assert done.returncode == 0 and re.fullmatch(rf"Your tunnel {UUID} does not have any active connection\.\n", done.stdout)


def test_tunnel_info_fails_in_mode_fail(cloudflared_bin):
    cloudflared_bin.set_mode("fail")
    done = cloudflared("tunnel", "info", "--output", "json", "norn")
    assert done.returncode == 1 and done.stdout == ""


# --- logging settings -------------------------------------------------------------------
# cloudflared's logger (logger/create.go createFromContext, newZerolog; resilientMultiWriter.WriteLevel writes a
# line only when its level is at least the minimum) with the flags of cmd/cloudflared/cliutil/logger.go
# ConfigureLoggingFlags: loglevel (altsrc: config file too; env TUNNEL_LOGLEVEL) and output (FlagLogOutput, a plain
# flag: env TUNNEL_MANAGEMENT_OUTPUT then TUNNEL_LOG_OUTPUT, never the config file). They are flags of `tunnel`
# (cmd/cloudflared/tunnel/cmd.go tunnelFlags); altsrc.ApplyInputSource (vendor/github.com/urfave/cli/v2/altsrc/
# flag.go) fills a flag from the config file only when neither the command line nor its env var set it.

ADDED = re.compile(rf"{STAMP} INF Added CNAME app\.example\.com which will route to this tunnel tunnelID={UUID}\n")


def config_file(home, text: str):
    path = home / ".cloudflared" / "config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_warn_from_the_environment_hides_the_success_line(cloudflared_bin):
    done = route("app.example.com", TUNNEL_LOGLEVEL="warn")
    assert (done.returncode, done.stderr) == (0, "")
    assert cloudflared_bin.routes() == {"app.example.com": "norn"}


def test_warn_from_the_default_config_file_hides_the_success_line(cloudflared_bin, home):
    config_file(home, "loglevel: warn\n")
    done = route("app.example.com")
    assert (done.returncode, done.stderr) == (0, "")


def test_the_loglevel_flag_of_tunnel_beats_the_environment_and_the_config_file(cloudflared_bin, home):
    config_file(home, "loglevel: error\n")
    done = cloudflared("tunnel", "--loglevel", "info", "route", "dns", "norn", "app.example.com", TUNNEL_LOGLEVEL="warn")
    assert done.returncode == 0 and ADDED.fullmatch(done.stderr)


def test_the_environment_beats_the_config_file(cloudflared_bin, home):
    config_file(home, "loglevel: warn\n")
    done = route("app.example.com", TUNNEL_LOGLEVEL="info")
    assert ADDED.fullmatch(done.stderr)


def test_a_loglevel_before_tunnel_does_not_reach_its_subcommands(cloudflared_bin):
    # urfave/cli's Context.String takes the value of the nearest command that defines the flag: `tunnel` does.
    done = cloudflared("--loglevel", "info", "tunnel", "route", "dns", "norn", "app.example.com", TUNNEL_LOGLEVEL="warn")
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("level", ["loud", "WARN", "disabled"])
def test_an_unknown_level_is_logged_and_info_is_used(cloudflared_bin, level):
    # zerolog.ParseLevel (vendor/github.com/rs/zerolog/log.go) knows trace..panic and "", case-sensitively
    done = route("app.example.com", TUNNEL_LOGLEVEL=level)
    first, second = done.stderr.splitlines()
    assert re.fullmatch(rf'{STAMP} ERR Failed to parse log level "{level}", using "info" instead', first)
    assert "INF Added CNAME app.example.com" in second


def test_an_empty_level_from_the_environment_is_nolevel_and_hides_everything(cloudflared_bin):
    # urfave/cli flagFromEnvOrFile takes a set-but-empty variable; ParseLevel("") is NoLevel, above every level
    done = route("app.example.com", TUNNEL_LOGLEVEL="")
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("variable", ["TUNNEL_LOG_OUTPUT", "TUNNEL_MANAGEMENT_OUTPUT"])
def test_json_output_from_the_environment(cloudflared_bin, variable):
    done = route("app.example.com", **{variable: "json"})
    event = json.loads(done.stderr)
    assert done.stderr.startswith('{"level":"info","message":') and done.stderr.endswith("}\n")
    assert event["message"] == "Added CNAME app.example.com which will route to this tunnel"
    assert re.fullmatch(UUID, event["tunnelID"]) and re.fullmatch(STAMP, event["time"])


def test_the_output_flag_beats_the_environment(cloudflared_bin):
    done = cloudflared("tunnel", "--output", "default", "route", "dns", "norn", "app.example.com", TUNNEL_LOG_OUTPUT="json")
    assert ADDED.fullmatch(done.stderr)


def test_the_config_file_does_not_set_the_output_format(cloudflared_bin, home):
    config_file(home, "output: json\n")
    assert ADDED.fullmatch(route("app.example.com").stderr)


def test_json_and_warn_together_print_nothing(cloudflared_bin):
    done = route("app.example.com", TUNNEL_LOG_OUTPUT="json", TUNNEL_LOGLEVEL="warn")
    assert (done.returncode, done.stderr) == (0, "")


# --- an unknown tunnel --------------------------------------------------------------
# cmd/cloudflared/tunnel/subcommand_context.go findID: a UUID is taken as is; a name not found is
# "%s is neither the ID nor the name of any of your tunnels", which cliutil.WithErrorHandler exits 1 with.


def test_an_unknown_tunnel_name_fails_as_cloudflared_does(cloudflared_bin):
    done = route("app.example.com", "nope")
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "nope is neither the ID nor the name of any of your tunnels\n",
    )
    assert cloudflared_bin.routes() == {}


def test_a_tunnel_uuid_is_taken_as_is(cloudflared_bin):
    assert route("app.example.com", "6ff42ae2-765d-4adf-8112-31c55c1551ef").returncode == 0


def test_tunnel_info_of_an_unknown_name_fails(cloudflared_bin):
    done = cloudflared("tunnel", "info", "--output", "json", "nope")
    assert done.returncode == 1 and "nope is neither the ID nor the name" in done.stderr


# --- ingress validate applies cloudflared's rules ------------------------------------------
# The same table norn's check is held to (tests/unit/cloudflared_rules.py, one row per rule of cloudflared's
# source, cited there); the stand-in implements the rules separately, in tests/bin/standin/ingress.py.


@pytest.mark.parametrize(("text", "accepted", "source"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_ingress_validate_agrees_with_cloudflared(cloudflared_bin, tmp_path, text, accepted, source):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    said_ok = done.returncode == 0 and done.stdout.endswith("\nOK\n")
    assert said_ok == accepted, f"{source}: {done.stdout} {done.stderr}"


def test_ingress_validate_says_why_as_cloudflared_does(cloudflared_bin, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(service("helloworld"))
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    assert (done.returncode, done.stdout) == (1, f"Validating rules from {config}\n")
    assert done.stderr == (
        "Validation failed: helloworld is an invalid address, please make sure it has a scheme and a hostname\n"
    )


def test_ingress_validate_refuses_a_repeated_key_while_reading_the_file(cloudflared_bin, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("tunnel: a\ntunnel: b\n" + service("http://app:80"))
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error parsing YAML in config file at {config}: yaml: unmarshal errors:")
    assert 'line 2: mapping key "tunnel" already defined at line 1' in done.stderr


def test_ingress_validate_warns_about_unknown_rule_keys_and_says_no_ok(cloudflared_bin, tmp_path):
    # config/configuration.go ReadConfigFile decodes again with KnownFields(true); ingress_subcommands.go prints
    # the warning instead of OK.
    config = tmp_path / "config.yaml"
    config.write_text(service("http://app:80", hostnme="x"))
    done = cloudflared("tunnel", "--config", str(config), "ingress", "validate")
    assert done.returncode == 0 and "Warning: unused keys detected" in done.stdout and "OK" not in done.stdout
