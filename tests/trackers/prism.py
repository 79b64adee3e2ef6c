"""GitHub's own API description, served by Prism on loopback, so every request the app sends
to GitHub is validated against GitHub's schema (an invalid request gets a 422, which the
client raises as ``TrackerRefused`` and the test fails).

The document is ``api.github.com.json`` from the pinned npm package ``@octokit/openapi``. Two
mechanical fixes are applied before Prism reads it, each working around a Prism limitation
rather than changing what GitHub accepts:

- ``nullable: true`` beside a ``oneOf``/``anyOf``/``allOf`` with no ``type`` (OpenAPI 3.0
  allows it) makes Prism's validator fail to compile the schema and then pass *every*
  request, so it is rewritten as ``anyOf: [<the schema>, <null only>]``;
- examples whose ``value`` is a ``$ref`` to a components example are inlined (Prism would
  answer with the referenced Example object, wrapped in ``{"value": ...}``).

Only the paths under ``/repos/{owner}/{repo}/issues`` are kept (with all components), which
halves Prism's start (12.8 s instead of 24.0 s for the whole document on a busy 2-core
machine); a request to any other GitHub path is a 404 from Prism, so the app cannot call an
endpoint the tests do not check. Prism starts once per session (``github_api``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.workers import BASE_DIR

NODE_MODULES = BASE_DIR / "node_modules"
PRISM = NODE_MODULES / ".bin" / "prism"
GITHUB_DOCUMENT = NODE_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.json"
# Loopback ports of the tracker tests' servers: Prism on the base, the others just above it
# (set TRACKER_TEST_PORT_BASE when 4010-4019 are taken).
PORT_BASE = int(os.environ.get("TRACKER_TEST_PORT_BASE", "4010"))
PORT = PORT_BASE
STARTUP_TIMEOUT = 180


def _null_only() -> dict:
    return {"type": "string", "nullable": True, "not": {"type": "string"}}


def _fix(node, examples: dict):
    if isinstance(node, list):
        return [_fix(child, examples) for child in node]
    if not isinstance(node, dict):
        return node
    node = {key: _fix(value, examples) for key, value in node.items()}
    ref = node.get("value", {}).get("$ref", "") if isinstance(node.get("value"), dict) else ""
    if ref.startswith("#/components/examples/"):
        node["value"] = examples[ref.rsplit("/", 1)[1]].get("value")
    if node.get("nullable") is True and "type" not in node and {"oneOf", "anyOf", "allOf"} & node.keys():
        inner = {key: value for key, value in node.items() if key not in ("nullable", "description")}
        return {"anyOf": [inner, _null_only()]}
    return node


def github_document(target: Path) -> Path:
    """Write the issues part of GitHub's document, with the two fixes, to ``target``."""
    document = json.loads(GITHUB_DOCUMENT.read_text())
    prefix = "/repos/{owner}/{repo}/issues"
    document["paths"] = {path: ops for path, ops in document["paths"].items() if path.startswith(prefix)}
    document.pop("webhooks", None)
    document.pop("x-webhooks", None)
    examples = document.get("components", {}).get("examples", {})
    target.write_text(json.dumps(_fix(document, examples)))
    return target


def require_node_tools() -> None:
    if PRISM.exists() and GITHUB_DOCUMENT.exists() and shutil.which("node"):
        return
    reason = "Prism and @octokit/openapi are not installed (run `npm ci`)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def start(tmp_dir: Path, port: int = PORT) -> tuple[subprocess.Popen, str]:
    """Start Prism on loopback; return the process and its base URL once it answers."""
    require_node_tools()
    document = github_document(tmp_dir / "github-issues.json")
    log = (tmp_dir / "prism.log").open("w")
    proc = subprocess.Popen(
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(document)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Prism stopped: {(tmp_dir / 'prism.log').read_text()[-2000:]}")
        try:
            requests.get(f"{url}/repos/a/b/issues/1", headers={"Accept": "application/json"}, timeout=5)
            return proc, url
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"Prism did not answer within {STARTUP_TIMEOUT} s")
