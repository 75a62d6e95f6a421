"""Reusable interface pieces (layout builders without callbacks of their own)."""
