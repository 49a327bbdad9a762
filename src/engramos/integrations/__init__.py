"""Adapters for agent frameworks, each a thin layer over :class:`engramos.Memory` (embedded)
or :class:`engramos.Client` (remote): the same adapter takes either.  Each module needs its
framework (an optional extra, e.g. ``pip install 'engramos[langgraph]'``) and is imported
on its own; this package imports none of them."""
