"""Starting and stopping a real Bedside (the already-built .build/debug/bedside) and headless
Chromium for the browser tests."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("BEDSIDE_BINARY", os.path.join(ROOT, ".build", "debug", "bedside"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeModel:
    """The scripted OpenAI-compatible server of fake_model.py, in its own process."""

    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(__file__), "fake_model.py"), str(self.port)],
            stdout=subprocess.PIPE,
        )
        self.process.stdout.readline()

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


class Server:
    """One Bedside process on a fixed port and database, which a test may kill and start again.

    `args` are more options (e.g. `--auth oidc`); `host` is the name the browser reaches it by
    (the server always listens on 127.0.0.1): `localhost` keeps its cookies apart from those of
    a provider on 127.0.0.1, since cookies belong to a host name, not a port."""

    def __init__(self, env=None, args=(), host="127.0.0.1", port=None):
        self.directory = tempfile.mkdtemp(prefix="bedside-browser-")
        self.database = os.path.join(self.directory, "bedside.sqlite")
        self.auth_database = os.path.join(self.directory, "bedside-auth.sqlite")
        self.port = port or free_port()
        self.host = host
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        # A binary built with coverage writes its profile here, not into the working tree.
        self.env.setdefault("LLVM_PROFILE_FILE", os.path.join(self.directory, "bedside-%p.profraw"))
        # The offline model streams at a pace a person (and a Stop key) can follow.
        self.env.setdefault("BEDSIDE_OFFLINE_DELTA_MS", "25")
        self.process = None
        self.log = open(os.path.join(self.directory, "server.log"), "ab")

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def loopback_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [BINARY, "--port", str(self.port), "--database", self.database, "--log-level", "warning",
             "--fhir-database", os.path.join(self.directory, "fhir.sqlite"), "--seed-patients", "20",
             "--auth-database", self.auth_database] + self.args,
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bedside exited with {self.process.returncode}; log in {self.directory}")
            try:
                return self.get("/ready")
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("bedside did not become ready within 30 s")

    def example_patient(self):
        """The seeded patient the server suggests asking about at start ("Try asking: …")."""
        with open(os.path.join(self.directory, "server.log"), encoding="utf-8") as log:
            match = re.search(r"Try asking: What conditions does (.+) have\?", log.read())
        return match.group(1) if match else None

    def kill(self):
        """SIGKILL: a crash, with no graceful shutdown."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path):
        with urllib.request.urlopen(self.loopback_url + path, timeout=5) as response:
            return json.loads(response.read())

    def history(self, session):
        return self.get(f"/sessions/{session}/events?after=0&limit=10000")["events"]


class Provider:
    """The test OpenID provider (glewlwyd, scripts/oidc-provider.sh) in a scratch directory on
    127.0.0.1, with the client `bedside` allowed to come back to `redirect_uris`."""

    SCRIPT = os.path.join(ROOT, "scripts", "oidc-provider.sh")

    def __init__(self, redirect_uris, secret):
        self.directory = tempfile.mkdtemp(prefix="bedside-oidc-")
        self.env = dict(os.environ, BEDSIDE_REDIRECT_URI=" ".join(redirect_uris), BEDSIDE_OIDC_CLIENT_SECRET=secret)
        self.issuer = None

    def start(self):
        try:
            started = subprocess.run(["bash", self.SCRIPT, "start", self.directory], env=self.env,
                                     capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError("the OpenID provider did not start within 60 s")
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"the OpenID provider did not start: {started.stderr.strip()[-2000:]}")
        self.issuer = started.stdout.strip().splitlines()[-1]
        return self.issuer

    def stop(self):
        # The script ends the provider by the pid it recorded, and nothing else.
        subprocess.run(["bash", self.SCRIPT, "stop", self.directory], capture_output=True, timeout=30)


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    binary = os.environ.get("CHROME_BINARY", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    driver_path = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    service = Service(driver_path) if os.path.exists(driver_path) else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(20)
    # A window cannot be narrower than about 500 px; the viewport can, as on a phone.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return driver


def wait(driver, condition, timeout=20, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message)


class BrowserTestCase(unittest.TestCase):
    """A Bedside server per test class (fresh database) and a browser per test."""

    server = None
    fake = None

    @classmethod
    def setUpClass(cls):
        env = {}
        if os.environ.get("BEDSIDE_BROWSER_FAKE_MODEL") == "1":
            cls.fake = FakeModel()
            env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{cls.fake.port}/v1", "BEDSIDE_MODEL": "fake-model"}
        cls.server = Server(env)
        ready = cls.server.start()
        cls.model = ready.get("model")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        if cls.fake:
            cls.fake.stop()

    def setUp(self):
        self.drivers = []

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    def open_page(self, session=None, width=1280, height=900):
        driver = browser(width, height)
        self.drivers.append(driver)
        driver.get(self.server.url + (f"/?session={session}" if session else "/"))
        wait(driver, lambda d: self.status(d) == "connected", message="the page never connected")
        return driver

    def require_model(self):
        if self.model is None:
            self.skipTest("the server reports \"model\": null at /ready (no offline model in this build): "
                          "this test needs a model that answers")

    @staticmethod
    def status(driver):
        return driver.execute_script("return document.querySelector('connection-status')?.dataset.state ?? null")

    @staticmethod
    def session_id(driver):
        return driver.execute_script("return document.querySelector('bedside-app').dataset.sessionId")

    @staticmethod
    def messages(driver):
        """[(role, text, seq)] as shown."""
        return driver.execute_script(
            "return [...document.querySelectorAll('chat-view li.message')].map(li => "
            "[li.classList[1], li.querySelector('.bubble').textContent, li.dataset.seq])")

    @staticmethod
    def busy(driver):
        return driver.execute_script("return document.querySelector('bedside-app').dataset.busy === 'true'")

    def ask(self, driver, text):
        box = driver.find_element("id", "composer-input")
        box.click()
        box.send_keys(text)
        driver.find_element("css selector", "chat-composer button.send").click()

    def wait_turn_ended(self, driver, turns, timeout=30):
        wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('telemetry-panel li.turn')]"
            ".filter(t => !t.classList.contains('status-running')).length") >= turns and not self.busy(d),
            timeout, "the turn did not end")
