"""The email channel: parsing, intake, the outbox and the IMAP / SMTP connections."""
