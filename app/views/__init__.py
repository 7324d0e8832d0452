"""Screens: @ft.component functions that lay out controls and call the state's intents."""
