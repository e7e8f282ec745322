"""The queue: sidebar of queues with counts, the lazily loaded ticket table, and their loader."""
