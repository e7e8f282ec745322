"""The agent window: Qt widgets and models over the services (the only package that imports Qt)."""
