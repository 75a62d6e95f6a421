"""Synthetic RMIS: a deterministic, vectorised generator of a whole city's primary data."""
