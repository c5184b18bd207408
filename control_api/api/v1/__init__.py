"""V1: the WebSocket protocol of the first players, on the same node RPCs as V2."""
