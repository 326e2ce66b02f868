"""Server-rendered pages (Jinja2 + HTMX).

Importing the package registers every domain's enum labels with :mod:`mosu.i18n`, so a page
or chart can show any member in either language.
"""

from mosu.accounts import labels as _accounts_labels  # noqa: F401
from mosu.challenges import labels as _challenges_labels  # noqa: F401
from mosu.registry import labels as _registry_labels  # noqa: F401
from mosu.scenarios import labels as _scenarios_labels  # noqa: F401
from mosu.supply import labels as _supply_labels  # noqa: F401
