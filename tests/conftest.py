from tests.simulator_fixtures import *  # noqa
