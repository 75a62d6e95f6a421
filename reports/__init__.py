"""Tables of the product: built from data access, shown on pages and exported exactly as shown."""
from . import access, contract, dataquality, emk, morbidity, pregnancy, prevention, registers  # noqa: F401  (the builders)
