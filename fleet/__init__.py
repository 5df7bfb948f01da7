"""Fleet manager for unmanned inspection robots in underground mines and chemical plants.

The package is organised by domain noun: :mod:`fleet.facility` (the site model),
:mod:`fleet.planning` (missions, fleets and patrol plans), and the command line in
:mod:`fleet.cli`. Every error the package raises on purpose derives from
:class:`fleet.errors.FleetError`.
"""

from fleet.errors import FleetError

__all__ = ["FleetError", "__version__"]
__version__ = "0.1.0"
