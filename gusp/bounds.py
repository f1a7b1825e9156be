"""What a client may send, bounded once for every route: ids that fit their columns, days in range.

Annotated types for path, query and body fields alike; a value outside is a 422 from validation,
never a database error.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

INT4_MAX = 2**31 - 1
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)

Id = Annotated[int, Field(ge=1, le=INT4_MAX, description="Identifiant (entier de 1 à 2 147 483 647).")]
Day = Annotated[dt.date, Field(ge=FIRST_DAY, le=LAST_DAY, description="Date (AAAA-MM-JJ), de 1900 à 2999.")]
