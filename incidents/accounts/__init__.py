"""Users, passwords and sign-in."""
