from tests.simulator_fixtures import *  # noqa
from tests.s3_server import *  # noqa
from tests.account_helpers import teams  # noqa: F401  (two simulated teams)
