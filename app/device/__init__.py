"""Below every feature: the local store, settings, sync runner, keys and QR scanning."""
