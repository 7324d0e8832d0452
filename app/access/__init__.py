"""Joining a campaign, accounts and the PIN lock."""
