"""gost package."""
