"""HTTP layer: pydantic models, thin FastAPI routes, JSON encoding. Knows nothing of numpy internals."""
