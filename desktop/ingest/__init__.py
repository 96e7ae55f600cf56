"""Importers: one module per evidence kind, and the sandbox that runs them. Never imports Qt."""
