"""In-app notifications (站内通知): a message to one user, read or unread."""
