"""A stand-in for App Store Connect's Xcode Cloud API, for tests, demos and benchmarks."""

from .app import SimulatorApp, SimulatorConfig, Stats, make_app
from .dataset import Dataset, content_chunks, expected_sha256
from .faults import API_FAULTS, Faults
from .server import SimulatorServer, build, run_in_thread

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
    "expected_sha256",
    "make_app",
    "run_in_thread",
]
