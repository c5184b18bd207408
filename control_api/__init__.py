"""VAS-MS control plane: REST V2, V1 WebSocket, auth, database, placement.

Stateless by design: media state lives on media nodes, reached over gRPC only.
"""
