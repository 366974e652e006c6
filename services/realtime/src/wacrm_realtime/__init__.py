"""wacrm realtime hub: Socket.IO rooms per tenant and conversation, fed by `rt:events`."""
