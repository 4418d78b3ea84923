"""Checking the engine's gradients and replaying the tutorial's backward mistakes.

`gradcheck` compares every gradient with central finite differences; `replay` runs the
tutorial's recursive and overwriting backward passes beside the correct one and says where they
part. Both work on a built graph through the engine's own forward pass and per-edge derivative
(`app.engine.run.forward`, `app.engine.run.edge`): no derivative is written here.
"""
