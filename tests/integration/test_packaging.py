"""The wheel on its own: built from the checkout, installed into a fresh venv (no editable install,
no checkout on sys.path) and run from a directory that is not the checkout, it carries every
module, page template, the stylesheet and the example model file, and `grading init`, `demo`,
`serve` (every page) and `python -m grading` work. About 15 s."""

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile

import pytest

pytestmark = pytest.mark.slow  # builds the wheel and serves the demo: seconds a test

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# what pyproject.toml builds the wheel from; a folder it starts to read must be added here
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "grading", "templates", "config")
PASSWORD = "correct horse"

# every page template (templates/*.html but base.html and the _partials) and a page rendering it
PAGES = {
    "login.html": "/login",
    "matrix.html": "/",
    "leads.html": "/leads",
    "lead.html": "/leads/L-0000001",
    "erase.html": "/leads/L-0000001/erase",
    "routes.html": "/routes",
    "models.html": "/models",
    "accounts.html": "/accounts",
    "account.html": None,  # the first company the accounts page links to
    "calibration.html": "/calibration",
    "audit.html": "/audit",
    "preview.html": None,  # POST /models/preview with the model file
    "error.html": "/no-such-page",
}


def _repo_files(folder: str, suffix: str) -> set[str]:
    found = set()
    for root, dirs, files in os.walk(os.path.join(REPO, folder)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(suffix):
                found.add(os.path.relpath(os.path.join(root, name), REPO).replace(os.sep, "/"))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    """Built with this venv's setuptools (no download), from a copy: no build/ in the checkout."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        path = os.path.join(REPO, name)
        if os.path.isdir(path):
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_file,) = out.glob("grading-*.whl")
    return str(wheel_file)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> dict:
    """A fresh venv with only the wheel installed; its dependencies are read from this venv's
    site-packages, listed in a .pth so that they come after the venv's own (the wheel's grading
    wins) and without this venv's editable finder (.pth files are only read in site dirs)."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = str(root / "bin" / "python")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"]
        + ["--no-index", wheel],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(site, "dependencies.pth"), "w") as pth:
        pth.write("\n".join(sorted(ours)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADING_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(PATH=f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1")
    cwd = tmp_path_factory.mktemp("elsewhere")  # no config/, no grading/, no templates/ here
    return {"python": python, "bin": str(root / "bin"), "site": site, "env": env, "cwd": str(cwd)}


def run(venv, *args, cwd=None, check=True):
    result = subprocess.run(
        list(args),
        cwd=cwd or venv["cwd"],
        env=venv["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def test_the_wheel_carries_every_module_template_the_stylesheet_and_the_model_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = _repo_files("grading", ".py")
    templates = {"grading/" + name for name in _repo_files("templates", ".html")}
    assert modules - names == set(), "a package is missing from pyproject's packages"
    assert templates and templates - names == set()
    assert "grading/templates/base.html" in names and "grading/static/grading.css" in names
    assert "grading/config/grading.yaml" in names
    assert "grading/__main__.py" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text and "Project-URL: Source" in text
    assert "Classifier: Programming Language :: Python :: 3.11" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


# the package's top level: the entry points and what every layer reads; the rest is in a folder
ROOT_MODULES = {
    "__init__.py",
    "__main__.py",
    "app.py",
    "scheduler.py",
    "resources.py",
}


def test_the_package_root_holds_only_the_entry_modules():
    root = {name for name in os.listdir(os.path.join(REPO, "grading")) if name.endswith(".py")}
    assert root - ROOT_MODULES == set(), "a module belongs in one of grading's folders"


def test_the_installed_package_is_the_wheel_not_the_checkout(venv):
    where = run(
        venv,
        venv["python"],
        "-c",
        "import grading, grading.resources as r;"
        " print(grading.__file__); print(r.TEMPLATES); print(r.SHIPPED_MODEL_FILE)",
    ).stdout.split()
    for path in where:
        assert path.startswith(venv["site"]), where
        assert not path.startswith(REPO), where
    assert os.path.isfile(os.path.join(where[1], "base.html"))
    with open(os.path.join(REPO, "config", "grading.yaml"), "rb") as ours:
        assert open(where[2], "rb").read() == ours.read()


def test_python_dash_m_grading(venv):
    result = run(venv, venv["python"], "-m", "grading", "--help")
    assert "Usage: python -m grading" in result.stdout and "serve" in result.stdout


def test_init_copy_model_writes_the_shipped_example_once(venv, tmp_path):
    grading = os.path.join(venv["bin"], "grading")
    first = run(venv, grading, "--db", "x.db", "init", "--copy-model", cwd=tmp_path)
    assert "config/grading.yaml written" in first.stdout
    with open(os.path.join(REPO, "config", "grading.yaml"), "rb") as ours:
        assert (tmp_path / "config" / "grading.yaml").read_bytes() == ours.read()
    (tmp_path / "config" / "grading.yaml").write_text("# mine\n")
    again = run(venv, grading, "--db", "x.db", "init", "--copy-model", cwd=tmp_path)
    assert "kept" in again.stdout
    assert (tmp_path / "config" / "grading.yaml").read_text() == "# mine\n"
    # ./config/grading.yaml is now the default: an invalid one is refused, naming it
    refused = run(venv, grading, "--db", "x.db", "demo", "--leads", "5", cwd=tmp_path, check=False)
    assert refused.returncode == 1 and "config/grading.yaml" in refused.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, bytes]:
        return self.send(urllib.request.Request(self.base + path))

    def post(self, path: str, data: bytes, content_type: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(self.base + path, data=data, method="POST")
        request.add_header("Content-Type", content_type)
        return self.send(request)

    def send(self, request) -> tuple[int, str, bytes]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read()

    def csrf(self, path: str) -> str:
        status, _, body = self.get(path)
        assert status == 200, path
        return re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()


def test_init_demo_and_serve_every_page_and_the_stylesheet(venv):
    """No --config anywhere: the example model file that ships is the default."""
    grading = os.path.join(venv["bin"], "grading")
    assert "ready" in run(venv, grading, "--db", "w.db", "init").stdout
    assert run(venv, grading, "--db", "w.db", "demo", "--leads", "50").returncode == 0
    assert "total" in run(venv, grading, "--db", "w.db", "matrix").stdout
    run(
        venv,
        grading,
        "--db",
        "w.db",
        "user",
        "create",
        "ada",
        "--role",
        "admin",
        "--password",
        PASSWORD,
    )
    port = _free_port()
    server = subprocess.Popen(
        [grading, "--db", "w.db", "serve", "--port", str(port), "--threads", "2"],
        cwd=venv["cwd"],
        env=venv["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        for _ in range(150):
            try:
                if browser.get("/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            server.kill()
            pytest.fail("server did not start: " + server.communicate()[0])
        _every_page(browser)
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0]
    assert os.path.join(venv["site"], "grading", "config", "grading.yaml") in output


def _every_page(browser: Browser) -> None:
    templates = {n for n in os.listdir(os.path.join(REPO, "templates")) if n[0] != "_"} - {
        "base.html"
    }
    assert templates == set(PAGES), "a page template without its page in PAGES"

    status, _, css = browser.get("/static/grading.css")
    with open(os.path.join(REPO, "grading", "static", "grading.css"), "rb") as ours:
        assert status == 200 and css == ours.read()

    status, _, body = browser.get("/login")
    assert status == 200 and b"grading.css" in body and b'name="password"' in body
    form = {"name": "ada", "password": PASSWORD, "csrf": browser.csrf("/login")}
    status, url, body = browser.post(
        "/login", urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    )
    assert status == 200 and urllib.parse.urlsplit(url).path == "/", url
    assert b"grade matrix" in body and b'action="/logout"' in body

    for template, path in PAGES.items():
        if path is None or path == "/login":
            continue
        status, url, body = browser.get(path)
        expected = 404 if template == "error.html" else 200
        assert status == expected and urllib.parse.urlsplit(url).path == path, (path, status)
        assert b"</html>" in body and b"grading.css" in body, path

    _, _, listing = browser.get("/accounts")
    company = re.search(rb'href="(/accounts/\d+)"', listing).group(1).decode()
    status, _, body = browser.get(company)
    assert status == 200 and b"</html>" in body, company

    with open(os.path.join(REPO, "config", "grading.yaml"), "rb") as model:
        upload = model.read()
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'.encode()
        + browser.csrf("/models").encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="grading.yaml"'
        "\r\nContent-Type: application/yaml\r\n\r\n".encode()
        + upload,
    ]
    data = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    status, _, body = browser.post(
        "/models/preview", data, f"multipart/form-data; boundary={boundary}"
    )
    assert status == 200 and b"</html>" in body and b"grading.yaml" in body
