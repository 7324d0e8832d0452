"""Start-up, navigation, language, notices and sync status: the app's frame around the features."""
