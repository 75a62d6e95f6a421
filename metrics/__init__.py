"""The indicator registry: indicators declared as data, parsed into typed objects and validated."""
from .model import Indicator, Measure, Registry, RegistryError, load_registry  # noqa: F401
