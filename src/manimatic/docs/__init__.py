"""API knowledge from the installed manim: introspection, search, and the RITL-DOC `<API_INFO>`.

>>> from manimatic.docs import ApiIndex, api_info_for_code
>>> index = ApiIndex.load()  # built once per manim version, then read from the cache
>>> index.get("Axes.plot").qualname
'CoordinateSystem.plot'
>>> [hit.name for hit in index.search("name 'ShowCreation' is not defined", k=1)]
['Create']
"""

from __future__ import annotations

from manimatic.docs.code_info import api_info_for_code
from manimatic.docs.index import ApiIndex
from manimatic.docs.model import ApiEntry, SearchHit

__all__ = ["ApiEntry", "ApiIndex", "SearchHit", "api_info_for_code"]
