"""The whole system, every service its own process, as `make up` runs it — but on a vhost,
databases and ports of its own."""

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from servicekit import config as configuration
from servicekit import migrate, testing
from servicekit.config import ROOT
from servicekit.supervisor import Stack

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")


class System:
    def __init__(self, stack, demo, env, log_dir):
        self.stack, self.demo, self.env, self.log_dir = stack, demo, env, log_dir
        self.url = stack.gateway_url
        self.twilio_url = env["TOWNHALL_TWILIO__BASE_URL"]
        self.auth_token = env["TOWNHALL_TWILIO__AUTH_TOKEN"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {demo['api_key']}"

    def staff(self, email):
        """A session signed in as a seeded staff user (of either organization)."""
        accounts = self.demo["accounts"] + self.demo["other_organization"]["accounts"]
        account = next(a for a in accounts if a["email"] == email)
        answer = requests.post(f"{self.url}/v1/auth/login", timeout=30,
                               json={"email": email, "password": account["password"]})
        assert answer.status_code == 200, answer.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session

    def own_community(self, name, first_names, phone_block, run, timezone=None):
        """A community of the Toronto office made for one test file, with one unit and a
        resident per first name (a phone and an email each), so that what the file records
        touches no seeded resident. `run` (hex) keeps names, phones and emails apart between
        runs; `phone_block` ("555", "556", ...) between files. {community, residents}."""
        master = self.staff("master@maplegrove.example")

        def made(answer):
            assert answer.status_code < 300, answer.text
            return answer.json()

        toronto = next(o["id"] for o in self.demo["offices"] if o["name"] == "Toronto office")
        # a zone where it is day now, unless the test asks for another: no quiet hours hold
        # its texts and calls back whenever it runs
        community = made(master.post(f"{self.url}/v1/communities", timeout=30, json={
            "name": name, "office_id": toronto,
            "timezone": timezone or testing.midday_timezone()}))
        unit = made(master.post(f"{self.url}/v1/communities/{community['id']}/units",
                                json={"label": "1"}, timeout=30))
        residents = {}
        for n, first in enumerate(first_names):
            residents[first] = made(master.post(f"{self.url}/v1/residents", timeout=30, json={
                "community_id": community["id"], "unit_id": unit["id"],
                "name": f"{first} {name}", "contact_points": [
                    {"kind": "phone",
                     "value": f"+1416{phone_block}{int(run, 16) % 900 + 100:03}{n}"},
                    {"kind": "email", "value": f"{first.lower()}.{run}@example.com"}]}))
        return {"community": community, "residents": residents}

    def resident(self, first_name):
        return next(r for r in self.demo["residents"] if r["name"].startswith(first_name))

    @property
    def community_id(self):
        """Maple Grove Apartments, where Ada, Grace, Alan and Dana live."""
        return self.resident("Ada")["community_id"]

    def send(self, resident, body, channel="sms", key=None, **extra):
        payload = {"kind": "message", "channels": [channel],
                   "recipients": {"residents": [resident["id"]]},
                   "category_id": self.demo["category_id"], "body": body, **extra}
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(f"{self.url}/v1/communications", json=payload,
                                 headers=headers, timeout=30)

    def communication(self, communication_id):
        return self.session.get(f"{self.url}/v1/communications/{communication_id}",
                                timeout=30).json()

    def wait_until_done(self, communication_id, timeout=60):
        deadline = time.monotonic() + timeout
        view = None
        while time.monotonic() < deadline:
            view = self.communication(communication_id)
            if view.get("status") == "completed" and view["credits"]["held"] == 0:
                return view
            time.sleep(0.2)
        raise AssertionError(f"not completed in {timeout}s: {view}")

    def wallet(self):
        return self.session.get(f"{self.url}/v1/communities/{self.community_id}/credits",
                                timeout=30).json()

    def wallet_at_rest(self, timeout=30):
        """The wallet once no hold is pending (earlier tests' texts may still settle)."""
        deadline = time.monotonic() + timeout
        wallet = self.wallet()
        while wallet["held"] and time.monotonic() < deadline:
            time.sleep(0.2)
            wallet = self.wallet()
        return wallet

    def report_at_rest(self, timeout=30):
        """The delivery report once no delivery is in flight."""
        deadline = time.monotonic() + timeout
        report = self.report()
        in_flight = {"pending", "queued", "sending", "sent"}
        while in_flight & set(report["counts"]) and time.monotonic() < deadline:
            time.sleep(0.2)
            report = self.report()
        return report

    def report(self):
        return self.session.get(f"{self.url}/v1/reports/deliveries",
                                params={"community_id": self.community_id}, timeout=30).json()

    def provider_messages(self, to=None):
        messages = requests.get(f"{self.twilio_url}/_sandbox/messages", timeout=10).json()
        return [m for m in messages if to is None or m["to"] == to]

    def emails_to(self, address):
        """What the SMTP sink received for `address`, oldest first."""
        api = self.env["TOWNHALL_SANDBOX__SMTP_API_PORT"]
        answer = requests.get(f"http://127.0.0.1:{api}/messages", timeout=30)
        answer.raise_for_status()
        return [m for m in answer.json() if address in m["rcpt_tos"]]

    def configure_provider(self, **settings):
        requests.post(f"{self.twilio_url}/_sandbox/config", json=settings,
                      timeout=10).raise_for_status()

    def logs(self, service):
        path = self.log_dir / f"{service}.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture(scope="session")
def system(broker_url, postgres_admin, tmp_path_factory):
    with running_system(broker_url, postgres_admin, tmp_path_factory.mktemp("e2e")) as made:
        yield made


@pytest.fixture(scope="session")
def own_system(broker_url, postgres_admin, tmp_path_factory):
    """For a test that needs a system configured otherwise (a slow sender, say):
    `with own_system(TOWNHALL_…="…") as system:` starts one of its own beside `system`."""
    def start(**settings):
        return running_system(broker_url, postgres_admin, tmp_path_factory.mktemp("e2e-own"),
                              **settings)
    return start


@contextlib.contextmanager
def running_system(broker_url, postgres_admin, root, **settings):
    """A whole system of its own (vhost, databases, ports), seeded; `settings` are more
    TOWNHALL_ environment variables, e.g. a slow sender for a test that needs one."""
    prefix = f"th_e2e_{uuid.uuid4().hex[:8]}"
    for service in SERVICES:
        postgres_admin.create(f"{prefix}_{service}")
    admin = postgres_admin.admin_url.replace("postgresql://", "postgresql+psycopg2://")
    template = admin.rsplit("/", 1)[0] + f"/{prefix}_{{service}}"
    with testing.vhost(broker_url) as amqp_uri:
        env = dict(
            os.environ,
            TOWNHALL_AMQP_URI=amqp_uri,
            TOWNHALL_DATABASE_URL=template,
            TOWNHALL_DATA_DIR=str(root / "data"),
            **testing.own_ports(),
            # tests stand in for many clients behind a proxy (login throttling per address)
            TOWNHALL_GATEWAY__TRUSTED_PROXIES='["127.0.0.1"]',
            TOWNHALL_TWILIO__AUTH_TOKEN="e2e-" + uuid.uuid4().hex,
            TOWNHALL_RPC_TIMEOUT_SECONDS="5",
            TOWNHALL_CONSUMERS__RETRY_DELAYS_SECONDS="[0.2, 1.0, 3.0]",
            # Twilio's default of one call a second would make a voice test wait for it
            TOWNHALL_MESSAGING__VOICE__CALLS_PER_SECOND="50",
            # the demo's communities in a zone where it is day now (quiet hours)
            TOWNHALL_SEED__TIMEZONE=testing.midday_timezone(),
            **settings,
        )
        config = configuration.load(environ=env)
        for service in SERVICES:
            migrate.upgrade(service, config)
        log_dir = root / "logs"
        stack = Stack(config, env=env, log_dir=log_dir)
        stack.start()
        try:
            stack.wait_healthy(timeout=120)
            demo_path = root / "demo.json"
            seeded = subprocess.run([sys.executable, "-c",
                                     "import eventlet; eventlet.monkey_patch()\n"
                                     "from pathlib import Path\n"
                                     "from servicekit import config, seed\n"
                                     f"seed.main(config.load(), out=Path({str(demo_path)!r}))"],
                                    cwd=ROOT, env=env, capture_output=True, text=True,
                                    timeout=120)
            assert seeded.returncode == 0, f"seed failed:\n{seeded.stdout}\n{seeded.stderr}"
            demo = json.loads(Path(demo_path).read_text())
            yield System(stack, demo, env, log_dir)
        finally:
            stack.stop()
            _show_errors(log_dir)


def _show_errors(log_dir):
    """Errors the processes logged, so a failing CI run says what went wrong."""
    for path in sorted(Path(log_dir).glob("*.log")):
        bad = [line for line in path.read_text(errors="replace").splitlines()
               if '"level": "ERROR"' in line or "Traceback" in line]
        if bad:
            print(f"--- {path.name}: {len(bad)} error lines; last ones:")
            print("\n".join(line[:600] for line in bad[-5:]))


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from the distribution's packages (`make browser` installs it),
    driven through its own chromedriver: no download at test time. JavaScript stays on, as
    residents' browsers have it; the pages must not need it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: run `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1024,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
