"""The declaration, vaccination and visit forms."""
