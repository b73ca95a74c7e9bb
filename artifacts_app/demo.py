"""What `make run` needs besides serving: a login, and demo data when no API key is set up.

Without App Store Connect credentials the bundled simulator stands in for Apple: a demo EC
key pair is made in `.demo/` (git-ignored), the simulator verifies tokens against its public
half, and the settings the sync reads (`ASC_API_BASE_URL`, `ASC_KEY_ID`, ...) point at it for
this process only. `ASC_DEMO_DATA` makes every page say the numbers are simulated.
"""

import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import get_user_model

DEMO_DIR = Path(settings.BASE_DIR) / ".demo"
DEMO_KEY_ID = "DEMO000001"
DEMO_ISSUER_ID = "00000000-0000-4000-8000-00000000d3e0"
LOGIN = "admin"
# The account `make run` (and `asc_simulator --demo`) makes up when no key is configured.
# Its budget is Apple's hourly one, so the sync's budget figures read true.
DEMO_DATASET = {"seed": 7, "products": 5, "runs": 500, "days": 180, "budget": 3600}


@dataclass
class Login:
    username: str
    password: str | None  # None when the account existed before and its password is not ours


def ensure_login(directory: Path = DEMO_DIR, username: str = LOGIN) -> Login:
    """Make sure `username` can log in; its generated password lives in `directory/credentials`.

    A user created earlier by someone else keeps its password (we never reset it).
    """
    users = get_user_model().objects
    credentials = directory / "credentials"
    saved = _read_saved_password(credentials, username)
    user = users.filter(username=username).first()
    if user is None:
        password = saved or secrets.token_urlsafe(12)
        users.create_superuser(username, email="", password=password)
        _write_private(credentials, f"{username}\n{password}\n")
        return Login(username, password)
    if saved and user.check_password(saved):
        return Login(username, saved)
    return Login(username, None)


def demo_key(directory: Path = DEMO_DIR) -> tuple[Path, str]:
    """The demo API key: (path of the private .p8, public key PEM), made once and kept."""
    private_path = directory / "AuthKey_DEMO.p8"
    if private_path.exists():
        private_key = serialization.load_pem_private_key(private_path.read_bytes(), None)
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(private_path, pem.decode())
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_path, public_pem.decode()


def start_simulator(directory: Path = DEMO_DIR, runs: int = DEMO_DATASET["runs"]):
    """Start the simulator on a free loopback port and point this process's settings at it.

    Its clock is today, so the dashboard's default range shows data. Returns the running
    server; call `.stop()` when done.
    """
    from .asc.simulator.server import run_in_thread

    private_path, public_pem = demo_key(directory)
    server = run_in_thread(
        host="127.0.0.1",
        port=0,
        **{**DEMO_DATASET, "runs": runs},
        now=datetime.now(UTC).replace(second=0, microsecond=0),
        public_key=public_pem,
        key_id=DEMO_KEY_ID,
        issuer_id=DEMO_ISSUER_ID,
    )
    settings.ASC_API_BASE_URL = server.base_url
    settings.ASC_KEY_ID = DEMO_KEY_ID
    settings.ASC_ISSUER_ID = DEMO_ISSUER_ID
    settings.ASC_PRIVATE_KEY_PATH = str(private_path)
    settings.ASC_PRIVATE_KEY = ""
    settings.ASC_DEMO_DATA = True
    return server


def cli_environment(base_url: str, directory: Path = DEMO_DIR) -> str:
    """The settings that point `manage.py` commands at a demo simulator, as shell assignments."""
    private_path, _ = demo_key(directory)
    return (
        f"ASC_API_BASE_URL={base_url} ASC_KEY_ID={DEMO_KEY_ID} "
        f"ASC_ISSUER_ID={DEMO_ISSUER_ID} ASC_PRIVATE_KEY_PATH={os.path.relpath(private_path)}"
    )


def _read_saved_password(path: Path, username: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if len(lines) >= 2 and lines[0] == username and lines[1]:
        return lines[1]
    return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def start_live_builds(server, site: str, speed: float) -> threading.Event:
    """Make the demo live: the simulator's clock runs `speed` times real time and sends
    Xcode Cloud webhook deliveries to this site, and a sync loop fetches what they announce.
    Set the returned event to stop the clock; the loop ends with the process."""
    from django.core.management import call_command

    from .asc.simulator.webhooks import WebhookSender, run_clock

    if not settings.XCODE_CLOUD_WEBHOOK_TOKEN:
        settings.XCODE_CLOUD_WEBHOOK_TOKEN = [secrets.token_urlsafe(24)]
    url = f"{site.rstrip('/')}/hooks/xcode-cloud/{settings.XCODE_CLOUD_WEBHOOK_TOKEN[0]}"
    stop = threading.Event()
    sender = WebhookSender(server.dataset, url, timeout=10)
    threading.Thread(
        target=run_clock, args=(sender.advance, speed, stop, 1.0), name="demo-clock", daemon=True
    ).start()
    threading.Thread(
        target=call_command,
        args=("sync_artifacts", "--loop", "--interval", "3600"),
        name="demo-sync-loop",
        daemon=True,
    ).start()
    return stop
