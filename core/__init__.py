"""Core: periods and number formatting — no dependencies on other layers."""
