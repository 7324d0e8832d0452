"""Everything that crosses between a device and the centre: record schemas, QR codes, protocol."""
