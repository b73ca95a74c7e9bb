"""Serve the App Store Connect (Xcode Cloud) simulator: python manage.py asc_simulator."""

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from artifacts_app import demo
from artifacts_app.asc.simulator.faults import API_FAULTS
from artifacts_app.asc.simulator.server import serve

PLAIN_DATASET = {"seed": 1, "products": 3, "runs": 500, "days": 180, "budget": None}


class Command(BaseCommand):
    help = "Serve a simulated App Store Connect Xcode Cloud API (and its downloads) locally."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--demo",
            action="store_true",
            help="the account `make run` shows, checking tokens of its demo key (made in .demo/); "
            "prints the settings that point manage.py commands at it",
        )
        parser.add_argument("--seed", type=int, help="same seed, same account (default 1)")
        parser.add_argument(
            "--public-key", metavar="PATH", help="verify JWT signatures against this PEM public key"
        )
        parser.add_argument("--key-id", help="require this kid in tokens")
        parser.add_argument("--issuer-id", help="require this iss (a team key)")
        parser.add_argument(
            "--individual-key",
            action="store_true",
            help="require individual-key tokens (sub 'user', no iss)",
        )
        parser.add_argument("--runs", type=int, help="build runs in the history (default 500)")
        parser.add_argument("--products", type=int, help="default 3")
        parser.add_argument("--days", type=int, help="length of the history (default 180)")
        parser.add_argument("--now", help="the simulated clock's start, ISO 8601 (default: now)")
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="simulated seconds per real second; 0 freezes the clock",
        )
        parser.add_argument(
            "--size-scale",
            type=float,
            default=1.0,
            help="multiply artifact sizes (e.g. 0.001 for quick downloads)",
        )
        parser.add_argument(
            "--hostile-names",
            action="store_true",
            help="use names built to break escaping and file paths",
        )
        parser.add_argument("--budget", type=int, help="requests per rolling hour (429 after)")
        parser.add_argument(
            "--download-expiry", type=float, default=600.0, help="seconds a downloadUrl stays valid"
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="KIND=RATE",
            help=f"probability of a fault per request; KIND is one of "
            f"{', '.join(API_FAULTS)} (repeatable)",
        )
        parser.add_argument(
            "--latency", type=float, default=0.0, help="seconds added to every API response"
        )
        parser.add_argument(
            "--download-cut",
            type=float,
            default=0.0,
            help="probability that a download stops halfway",
        )
        parser.add_argument(
            "--webhook-url",
            default="",
            metavar="URL",
            help="POST Xcode Cloud webhook deliveries here as the clock creates, starts and "
            "completes runs (e.g. http://127.0.0.1:8000/hooks/xcode-cloud/TOKEN)",
        )
        parser.add_argument(
            "--retry-after",
            type=int,
            default=1,
            help="Retry-After seconds sent with 429-retry-after faults",
        )

    def handle(self, *args, **options):
        dataset = demo.DEMO_DATASET if options["demo"] else PLAIN_DATASET
        for name, default in dataset.items():
            if options[name] is None:
                options[name] = default
        public_key = None
        if options["demo"]:
            public_key = self._use_demo_key(options)
        elif options["public_key"]:
            try:
                public_key = Path(options["public_key"]).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    f"--public-key: cannot read {options['public_key']}: {exc.strerror}"
                ) from None
        try:
            now = (
                datetime.fromisoformat(options["now"].replace("Z", "+00:00"))
                if options["now"]
                else datetime.now(UTC).replace(second=0, microsecond=0)
            )
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            rates = {}
            for item in options["fault"]:
                kind, _, rate = item.partition("=")
                if kind not in API_FAULTS:
                    raise ValueError(f"--fault: unknown kind {kind!r}; use {', '.join(API_FAULTS)}")
                rates[kind] = float(rate or 1)
            serve(
                host=options["host"],
                port=options["port"],
                speed=options["speed"],
                announce=lambda line: self.stdout.write(line),
                seed=options["seed"],
                runs=options["runs"],
                products=options["products"],
                days=options["days"],
                now=now,
                hostile_names=options["hostile_names"],
                size_scale=options["size_scale"],
                public_key=public_key,
                key_id=options["key_id"],
                issuer_id=options["issuer_id"],
                individual_key=options["individual_key"],
                budget=options["budget"],
                download_expiry=options["download_expiry"],
                rates=rates,
                latency=options["latency"],
                download_cut=options["download_cut"],
                retry_after=options["retry_after"],
                webhook_url=options["webhook_url"],
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None

    def _use_demo_key(self, options):
        if options["public_key"] or options["key_id"] or options["issuer_id"]:
            raise CommandError("--demo: it brings its own key; leave out --public-key/--key-id")
        _, public_pem = demo.demo_key()
        options["key_id"], options["issuer_id"] = demo.DEMO_KEY_ID, demo.DEMO_ISSUER_ID
        if options["port"]:
            url = f"http://{options['host']}:{options['port']}"
            self.stdout.write(
                "Point manage.py commands at it, in another shell:\n"
                f"  export {demo.cli_environment(url)}\n"
                "  .venv/bin/python manage.py sync_artifacts"
            )
        return public_pem
