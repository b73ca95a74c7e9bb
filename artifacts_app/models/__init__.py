"""The app's models, one module per concern; everything is importable from here."""

# The webhook queue and the size budgets keep their models beside their code; importing them
# here registers them with the app.
from ..budgets.models import BudgetCheck, BudgetViolation, SizeBudget  # noqa: E402,F401
from ..contents.models import ArtifactComponent, ArtifactContents  # noqa: E402, F401
from ..webhooks.models import QueuedRun, WebhookDelivery  # noqa: E402,F401
from .accounts import *  # noqa: F403
from .archive import *  # noqa: F403
from .mirror import *  # noqa: F403
from .rollup import *  # noqa: F403
from .sync_state import *  # noqa: F403
from .tokens import *  # noqa: F403
