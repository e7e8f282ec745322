"""A ticket's conversation: user messages, agent replies, internal notes and system events, oldest first."""
