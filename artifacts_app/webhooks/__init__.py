"""Xcode Cloud webhooks: a receiver that queues build runs, and the queue the sync drains."""
