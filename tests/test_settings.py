"""Secrets have no production default, yet offline commands run on a bare checkout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_makemigrations_check_runs_without_any_environment():
    result = _run("manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "No changes detected" in result.stdout


def test_deploy_check_reports_a_missing_secret_key():
    result = _run("manage.py", "check", "--deploy", DEBUG="0")
    assert result.returncode != 0
    assert "learning_portal.E001" in result.stderr


@pytest.mark.parametrize("module", ["learning_portal.wsgi", "learning_portal.asgi"])
def test_the_web_application_refuses_to_start_without_a_secret_key(module):
    result = _run("-c", f"import {module}", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_web_application_starts_with_a_secret_key():
    result = _run("-c", "import learning_portal.wsgi", DEBUG="0", SECRET_KEY="k" * 60)
    assert result.returncode == 0, result.stderr[-2000:]
