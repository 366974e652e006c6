"""wacrm WhatsApp connector: holds sessions' sockets, publishes their events, runs commands."""
