"""Supply–demand matching on the platform (应用场景供需对接).

The live index over the registry and the scenario board (``live``), suppliers' case studies
and their interest in scenarios (``service``), and the API (``routes``). The ranking itself
is the ``mosu.matching`` library.
"""
