"""The Reports window: figures for supervisors, their chart, and printing them."""
