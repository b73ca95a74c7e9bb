"""A stand-in for App Store Connect's Xcode Cloud API, for tests, demos and benchmarks."""

from .app import SimulatorApp, SimulatorConfig, make_app
from .dataset import Dataset
from .downloads import content_chunks, expected_sha256
from .faults import API_FAULTS, Faults
from .layouts import download_body, served_sha256
from .server import SimulatorServer, build, run_in_thread
from .stats import Stats

__all__ = [
    "API_FAULTS",
    "Dataset",
    "Faults",
    "SimulatorApp",
    "SimulatorConfig",
    "SimulatorServer",
    "Stats",
    "build",
    "content_chunks",
    "download_body",
    "expected_sha256",
    "make_app",
    "run_in_thread",
    "served_sha256",
]
