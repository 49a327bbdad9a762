"""Network surfaces over the same facade: REST (FastAPI), auth, workers."""
