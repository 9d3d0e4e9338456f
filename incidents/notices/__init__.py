"""Notices: "a case needs you", in the app and by e-mail, never with what the case is about."""
