"""The HTTP edge: the app factory, its routes and pages, security headers, client connections and
the file descriptors they hold."""
