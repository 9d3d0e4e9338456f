"""The desks' pages: queues, the case page, status changes and notes."""
