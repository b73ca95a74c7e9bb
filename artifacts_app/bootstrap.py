"""`python -m artifacts_app.bootstrap`: make sure a local SECRET_KEY exists before Django starts.

Settings refuse to start without SECRET_KEY outside DEBUG, so `make run` calls this first.
When neither the environment nor `.env` sets one, a generated key is appended to `.env`
(git-ignored). Nothing else is touched; running it again changes nothing.
"""

import os
import re
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"


def env_file_has_secret_key(path: Path) -> bool:
    if not path.exists():
        return False
    pattern = re.compile(r"^\s*(export\s+)?SECRET_KEY\s*=\s*\S+")
    return any(pattern.match(line) for line in path.read_text(encoding="utf-8").splitlines())


def ensure_secret_key(path: Path = ENV_FILE, environ=os.environ) -> bool:
    """Append a generated SECRET_KEY to `path` unless one is set; True when one was written."""
    if environ.get("SECRET_KEY") or env_file_has_secret_key(path):
        return False
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not existing or existing.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{separator}SECRET_KEY={secrets.token_urlsafe(50)}\n")
    path.chmod(0o600)
    return True


def main() -> int:
    if ensure_secret_key():
        sys.stdout.write(f"Wrote a new SECRET_KEY to {ENV_FILE.name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
