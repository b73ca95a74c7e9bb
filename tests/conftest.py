from tests.simulator_fixtures import *  # noqa
from tests.s3_server import *  # noqa
