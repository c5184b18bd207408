"""HTTP and WebSocket routes: REST V2, V1 WebSocket, health and metrics."""
