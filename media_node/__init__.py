"""VAS-MS media node: runs mediasoup workers, ingests sources, serves gRPC."""
