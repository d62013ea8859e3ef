"""`POST /api/chat`: the request read and checked, and one answer relayed to the browser as
Server-Sent Events."""
