"""The administrator's pages: accounts only, never case content."""
