"""Templates with variables: "%{ticket.number}" replaced by its value; an unknown name is left as typed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VARIABLE = re.compile(r"%\{([a-z_.]+)\}")


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill in the variables. One left as typed shows the administrator the misspelt name in the sent mail."""
    return _VARIABLE.sub(lambda m: str(variables[m[1]]) if m[1] in variables else m[0], template)
