"""GUSP as an Open311 client, as FixMyStreet is for councils: partners that run their own Open311
server receive the reports handed to them there, and their status changes come back.

`links` (a partner's endpoint, key and service mapping, managed by admins), `sending` (a message
in the outbox when a report is assigned), `remote` (the HTTP calls and the XML they answer),
`delivery` (the worker sends the message, records the partner's id), `polling` (the worker reads
the partner's `servicerequestupdates` and moves the report through `gusp.triage`).
"""
