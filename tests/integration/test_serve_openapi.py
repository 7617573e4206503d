"""A property-based run against norn serve's own OpenAPI document: no 5xx, and no answer the document does not describe.

A real `norn serve` runs against the stand-in API server and cloudflared with two apps to forge. The test
reads GET /v1/openapi.json and, for every operation in it, sends requests drawn by hypothesis from the
document itself: path and query parameters and JSON bodies from their schemas, with the app names and a
run id the server knows mixed in so runs really start, plus bodies of any JSON or text at all (invalid
input must be a documented 4xx). Each answer must be below 500, carry a status the operation documents,
and, where the document gives that status a JSON body, be JSON that validates against its schema
(jsonschema, Draft 2020-12: the dialect of OpenAPI 3.1, which FastAPI writes). A request without the
token, or with a wrong one, must be a documented 401.

Why not schemathesis: no release fits both this project's floors (make test-floor) and its newest
versions. Every schemathesis 4 requires rich>=13.9.4, and norn's floor is rich 10.11.0 (typer 0.19's own
requirement), a runtime dependency a test tool should not raise. schemathesis 3 requires starlette<1 and
pytest<9 (the newest FastAPI requires starlette>=1.6: the dev venv would fall back to an old FastAPI and to
pytest 8), and draws its data with hypothesis-jsonschema, whose last release (0.23.1) fails on any object schema
with today's hypothesis ('many' object has no attribute 'more'), as it would here. So the values are
drawn by the small generator below, for the keywords FastAPI writes (any other stops the test), each
value checked by jsonschema before it is sent as valid.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.integration.conftest import CRON_SPEC, WEB_SPEC

TOKEN = "serve-openapi-test-token-0123456789abcdef"
KNOWN = {"app": ["web", "nightly", "ghost"], "run": []}  # two apps with an infraspec, one without; runs: seen
EXAMPLES = 40  # per operation at most: a few hundred requests in all, well under a minute
CONTRACT = {  # issue 18's operations, each of which the document must describe
    ("get", "/v1/apps"), ("get", "/v1/apps/{app}"), ("get", "/v1/apps/{app}/plan"),
    ("post", "/v1/apps/{app}/forge"), ("delete", "/v1/apps/{app}/forge"), ("get", "/v1/runs/{run}"),
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


class Server:
    """A `norn serve` process on a free port, and a plain HTTP client for it."""

    def __init__(self, norn, log) -> None:
        with socket.socket() as probe:  # a free port
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "norn", "serve", "--port", str(self.port)], cwd=norn.cwd,
                env=norn.env(NORN_SERVE_TOKEN=TOKEN), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        self.log = log
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.call("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"norn serve did not come up:\n{log.read_text()}")

    def call(self, method: str, target: str, body: bytes | None = None, token: str | None = TOKEN):
        """(status, content type, body bytes) of one request."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method.upper(), target, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheader("content-type") or "", answer.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: runs still going end at their next step
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server(norn, tmp_path):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    running = Server(norn, tmp_path / "serve.log")
    yield running
    running.stop()
    assert "Traceback" not in running.log.read_text()


# --- the document: its operations, and whether an answer fits it --------------------------------------------------


def operations(document: dict) -> list[tuple[str, str, dict]]:
    methods = ("get", "put", "post", "delete", "patch", "head", "options")
    return [(method, path, {**op, "parameters": [*item.get("parameters", []), *op.get("parameters", [])]})
            for path, item in document["paths"].items() for method, op in item.items() if method in methods]


def with_root(schema: dict, document: dict) -> dict:
    """The schema with the document's components beside it, so its "#/components/..." references resolve."""
    return {**schema, "components": document.get("components", {})}


def mismatch(document: dict, operation: dict, status: int, content_type: str, body: bytes) -> str | None:
    """Why an answer breaks the document, or None when it fits."""
    responses = operation["responses"]
    documented = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if documented is None:
        return f"status {status} is not documented (documented: {', '.join(responses)})"
    schema = ((documented.get("content") or {}).get("application/json") or {}).get("schema")
    if schema is None:
        return None
    if not content_type.startswith("application/json"):
        return f"status {status}: content type {content_type!r}, documented application/json"
    try:
        value = json.loads(body)
    except ValueError:
        return f"status {status}: the body is not JSON: {body[:200]!r}"
    errors = sorted(Draft202012Validator(with_root(schema, document)).iter_errors(value), key=str)
    return f"status {status}: {errors[0].message} at {list(errors[0].absolute_path)}" if errors else None


# --- requests drawn from the document ------------------------------------------------------------------------------

# What FastAPI and pydantic write in a schema and the generator below reads; any other keyword stops the
# test, rather than draw values its schema never meant (a new model feature must be taught here first).
ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "format"}
UNDERSTOOD = ANNOTATIONS | {"$ref", "anyOf", "oneOf", "enum", "const", "type", "properties", "required",
                            "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength",
                            "minimum", "maximum", "pattern", "components"}


def values(schema: dict | bool, document: dict):
    """A strategy for values valid against ``schema`` (a JSON Schema 2020-12 subset, references into the
    document's components). Every value drawn is also checked by jsonschema, so a mistake here cannot send
    a value the document calls invalid as if it were valid."""
    checker = Draft202012Validator(with_root(schema, document) if isinstance(schema, dict) else schema)
    return _values(schema, document).filter(checker.is_valid)


def _values(schema: dict | bool, document: dict):
    if schema is True or schema == {}:
        return JSON
    unknown = set(schema) - UNDERSTOOD
    assert not unknown, f"the generator does not know {sorted(unknown)} (in {schema})"
    if "$ref" in schema:
        *_, kind, name = schema["$ref"].split("/")
        return _values(document["components"][kind][name], document)
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([_values(option, document) for option in schema.get("anyOf", schema.get("oneOf"))])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kinds = schema.get("type", list(TYPES))
    return st.one_of([TYPES[kind](schema, document) for kind in ([kinds] if isinstance(kinds, str) else kinds)])


def _string(schema: dict, document: dict):
    if "pattern" in schema:
        return st.from_regex(schema["pattern"])
    return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 30))


def _object(schema: dict, document: dict):
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = st.fixed_dictionaries(
        {name: _values(sub, document) for name, sub in properties.items() if name in required},
        optional={name: _values(sub, document) for name, sub in properties.items() if name not in required},
    )
    extra = schema.get("additionalProperties", True)
    if extra is False:
        return fixed
    more = st.dictionaries(st.text(max_size=10).filter(lambda key: key not in properties), _values(extra, document),
                           max_size=3)
    return st.builds(lambda known, others: {**others, **known}, fixed, more)


TYPES = {
    "null": lambda schema, document: st.none(),
    "boolean": lambda schema, document: st.booleans(),
    "integer": lambda schema, document: st.integers(schema.get("minimum"), schema.get("maximum")),
    "number": lambda schema, document: st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False,
                                                 allow_infinity=False),
    "string": _string,
    "array": lambda schema, document: st.lists(_values(schema.get("items", True), document),
                                               min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 4)),
    "object": _object,
}


def path_value(parameter: dict, document: dict):
    """A path parameter: one the server knows, a well-formed name, or any string of its schema that stays one
    path segment."""
    drawn = values(parameter.get("schema", {}), document).map(str)
    drawn = drawn.filter(lambda value: value not in ("", ".", "..") and "/" not in value)
    named = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True) | drawn
    known = KNOWN.get(parameter["name"])
    return st.sampled_from(known) | named if known else named


def query_value(parameter: dict, document: dict):
    value = values(parameter.get("schema", {}), document)
    value = value.map(lambda v: json.dumps(v) if isinstance(v, bool) or v is None else str(v))
    return value if parameter.get("required") else st.none() | value


def request(document: dict, path: str, operation: dict):
    """(target, body bytes or None) for one request to ``operation``."""
    parameters = operation["parameters"]
    path_parts = st.fixed_dictionaries({p["name"]: path_value(p, document) for p in parameters if p["in"] == "path"})
    query = st.fixed_dictionaries({p["name"]: query_value(p, document) for p in parameters if p["in"] == "query"})
    schema = (((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    body = st.none()
    if schema is not None:
        body = st.none() | values(schema, document).map(json.dumps) | JSON.map(json.dumps) | st.text(max_size=20)

    def target(parts: dict, values: dict) -> str:
        filled = path.format(**{name: quote(value, safe="") for name, value in parts.items()})
        given = {name: value for name, value in values.items() if value is not None}
        return f"{filled}?{urlencode(given)}" if given else filled

    return st.tuples(st.builds(target, path_parts, query), body.map(lambda b: b if b is None else b.encode()))


def test_every_answer_to_requests_drawn_from_the_openapi_document_fits_it(server):
    status, _, raw = server.call("GET", "/v1/openapi.json")
    assert status == 200, raw
    document = json.loads(raw)
    found = operations(document)
    assert CONTRACT <= {(method, path) for method, path, _ in found}
    assert server.call("GET", "/v1/openapi.json", token=None)[0] == 401
    status, _, raw = server.call("POST", "/v1/apps/nightly/forge", b"{}")
    assert status == 202, raw
    KNOWN["run"] = [json.loads(raw)["run"]]  # so GET /v1/runs/{run} finds one too

    for method, path, operation in found:
        example = path.format(**{name: KNOWN[name][0] for name in KNOWN if f"{{{name}}}" in path})
        for token in ([None, TOKEN[::-1]] if path != "/healthz" else []):
            answer = server.call(method, example, token=token)
            assert answer[0] == 401, f"{method.upper()} {example} with token {token is not None}: {answer}"
            assert mismatch(document, operation, *answer) is None, f"{method.upper()} {example}: {answer}"

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(request(document, path, operation))
        def fits(drawn) -> None:
            target, body = drawn
            status, content_type, raw = server.call(method, target, body)
            sent = f"{method.upper()} {target} {body!r}"
            assert status < 500, f"{sent}: {status} {raw[:300]!r}"
            assert mismatch(document, operation, status, content_type, raw) is None, f"{sent}: {raw[:300]!r}"

        fits()


# --- the checker and the generator themselves, on a small document -------------------------------------------------

TOY = {
    "components": {"schemas": {
        "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
        "Body": {"type": "object", "additionalProperties": False, "properties": {
            "force": {"type": "boolean", "default": False},
            "timeout": {"anyOf": [{"type": "string", "pattern": "^[0-9]+[smh]$"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
        }},
    }},
}
TOY_OPERATION = {"responses": {
    "202": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "204": {"description": "no body"},
}}


@pytest.mark.parametrize(
    ("status", "content_type", "body", "why"),
    [
        (202, "application/json", b'{"error": "x"}', None),
        (204, "", b"", None),
        (500, "application/json", b'{"error": "x"}', "status 500 is not documented (documented: 202, 204)"),
        (202, "text/plain", b"x", "status 202: content type 'text/plain', documented application/json"),
        (202, "application/json", b"{", "status 202: the body is not JSON: b'{'"),
        (202, "application/json", b'{"error": 1}', "status 202: 1 is not of type 'string' at ['error']"),
        (202, "application/json", b"{}", "status 202: 'error' is a required property at []"),
    ],
)
def test_an_answer_fits_the_document_only_with_a_documented_status_and_a_valid_body(status, content_type, body, why):
    assert mismatch(TOY, TOY_OPERATION, status, content_type, body) == why


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(_values({"$ref": "#/components/schemas/Body"}, TOY))  # without the filter values() adds
def test_the_generator_draws_only_values_the_schema_accepts(value):
    assert set(value) <= {"force", "timeout", "tags"}
    assert Draft202012Validator(with_root({"$ref": "#/components/schemas/Body"}, TOY)).is_valid(value)


def test_the_generator_refuses_a_keyword_it_does_not_know():
    with pytest.raises(AssertionError, match="does not know"):
        values({"type": "string", "contentEncoding": "base64"}, TOY)
