"""Operations shared by REST V2, the V1 WebSocket and the node event sync."""
