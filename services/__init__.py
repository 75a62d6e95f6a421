"""Services: ratings and control tasks, built on the semantic layer."""
