"""gRPC contract between the control plane and media nodes (generated stubs live here)."""
