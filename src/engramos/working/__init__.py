"""Working memory per conversation (``block.py``) and the scheduler that keeps it
ready ahead of need (``scheduler.py``)."""
