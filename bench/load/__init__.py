"""Load generator: many real WebRTC receivers attached through the REST API (see README.md)."""
