"""The REST API's routers, one module per resource; each route is a thin layer over
:class:`engramos.Memory` (reached through the caller's key)."""

from . import cube, memories, ops, recall, sharing, tenancy

ROUTERS = (memories.router, recall.router, tenancy.router, cube.router, sharing.router, ops.router)
