"""Push notifications: devices, provider clients (FCM HTTP v1, APNs over HTTP/2), the outbox and its worker."""
