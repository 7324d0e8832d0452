"""The HSSK device app: screens → state → services → local store."""
