"""The wheel works outside the checkout: built from the repository, installed in a fresh
virtual environment, ``locator init`` and ``locator serve`` from an empty folder load the
shipped data and serve every page."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with the wheel installed (its dependencies are read
    from this environment's site-packages, without its editable install of locator)."""
    base = tmp_path_factory.mktemp("packaging")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(base / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert "Warning" not in build.stderr, build.stderr[-3000:]
    wheel = next((base / "dist").glob("locator-*.whl"))
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies from here; a .pth line adds the folder without running its .pth files
    # (so this environment's editable locator stays out).
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, venv


def test_the_wheel_carries_templates_geodata_and_assets(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "locator/_templates/driver.html",
        "locator/_templates/coverage.html",
        "locator/_geodata/anhui_admin_units.geojson",
        "locator/_geodata/SOURCES.md",
        "locator/web/static/driver.js",
        "locator/web/translations/zh/LC_MESSAGES/messages.mo",
    ):
        assert needed in names, needed


def test_init_and_serve_from_an_empty_folder(installed, tmp_path):
    _, venv = installed
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_") and k != "PYTHONPATH"
    }
    env.update(LOCATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'locator.db'}", LOCATOR_TILES="none")
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import locator; print(locator.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where
    init = subprocess.run(
        [str(venv / "bin" / "locator"), "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert init.returncode == 0, init.stderr[-3000:]
    assert "facilities:" in init.stdout
    port = _free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "locator"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(
                    f"{base}/api/v1/facilities?limit=1", timeout=5
                ) as response:
                    first = json.loads(response.read())["features"][0]["id"]
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the installed app did not start")
        for path in (
            "/",
            f"/f/{first}",
            "/map",
            "/coverage?city=340100",
            "/embed",
            "/sources",
            "/static/driver.js",
        ):
            with urllib.request.urlopen(base + path, timeout=120) as response:
                body = response.read().decode("utf-8")
                assert response.status == 200, path
            if path == "/":
                assert "附近站点" in body  # the Chinese catalogue is installed too
            if path == "/sources":
                assert "OpenStreetMap" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()
