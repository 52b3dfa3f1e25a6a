"""Custom integrations (this repository ships emucs)."""
