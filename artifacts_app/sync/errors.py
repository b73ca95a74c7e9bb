"""How a pass ends early."""


class SyncError(Exception):
    """A sync that could not run or finish; the message is one actionable line."""


class SyncStopped(Exception):
    """The pass stops early on purpose (budget reserve reached, stop requested)."""
